using ChatCluster.Inference;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ChatCluster.Silo.Telemetry;

/// <summary>
/// Traces and metrics over OTLP, configured by the standard OTEL_* variables (endpoint, protocol, service
/// name, intervals). Without OTEL_EXPORTER_OTLP_ENDPOINT nothing is registered at all, so telemetry off costs
/// the instrumented code a null check and nothing leaves the machine. Traces: ASP.NET Core's request span,
/// Orleans' grain calls (propagated between silos by <c>AddActivityPropagation</c>), the engine's spans.
/// </summary>
public static class TelemetryServiceCollectionExtensions
{
    /// <summary>Orleans' span per grain call (the runtime's own source is too chatty to export by default).</summary>
    public const string OrleansApplicationSource = "Microsoft.Orleans.Application";

    public static IServiceCollection AddChatClusterTelemetry(this IServiceCollection services)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                serviceName: Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "chatcluster-silo",
                serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithTracing(tracing => tracing
                .AddSource(InferenceTelemetry.SourceName, OrleansApplicationSource)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation())
            .WithMetrics(metrics => metrics
                .AddMeter(InferenceTelemetry.SourceName, "Microsoft.Orleans")
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation())
            .UseOtlpExporter();
        return services;
    }
}
