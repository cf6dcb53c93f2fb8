using ChatCluster.Inference;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ChatCluster.Silo.Telemetry;

/// <summary>
/// Traces and metrics over OTLP, configured by the standard OTEL_* variables. Without an endpoint
/// (OTEL_EXPORTER_OTLP_ENDPOINT) nothing is exported and the providers are not built, so telemetry off costs
/// the instrumented code a null check. The hosting packages are not obtainable here, so the SDK's builders are
/// wired by hand, with the sources ASP.NET Core, HttpClient and the runtime publish themselves.
/// </summary>
public static class TelemetryServiceCollectionExtensions
{
    public static IServiceCollection AddChatClusterTelemetry(this IServiceCollection services)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            return services;
        }

        var resource = ResourceBuilder.CreateDefault().AddService(
            Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "chatcluster-silo",
            serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId);
        var tracer = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(InferenceTelemetry.SourceName, Runtime.GrainTelemetry.SourceName, "Microsoft.AspNetCore", "System.Net.Http")
            .AddOtlpExporter()
            .Build();
        var meter = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(InferenceTelemetry.SourceName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
            .AddOtlpExporter()
            .Build();
        services.AddHostedService(_ => new TelemetryProviders(tracer, meter));
        return services;
    }

    /// <summary>Owns the providers so that the host flushes and disposes them when it stops.</summary>
    private sealed class TelemetryProviders(TracerProvider? tracer, MeterProvider? meter) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            tracer?.Dispose();
            meter?.Dispose();
            return Task.CompletedTask;
        }
    }
}
