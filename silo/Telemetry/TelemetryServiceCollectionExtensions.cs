using ChatCluster.Gateway;
using ChatCluster.Inference;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ChatCluster.Silo.Telemetry;

/// <summary>
/// OpenTelemetry for a node. Metrics are always collected and served on /metrics (Prometheus text format).
/// Traces and logs are exported over OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set (with the other
/// standard OTEL_* variables); without it no tracer is registered, so tracing costs the instrumented code a
/// null check and nothing leaves the machine. Traces: ASP.NET Core's request span, Orleans' grain calls
/// (propagated between silos by <c>AddActivityPropagation</c>), the engine's spans. Logs carry the trace and
/// span ids of the request that wrote them.
/// </summary>
public static class TelemetryServiceCollectionExtensions
{
    /// <summary>Orleans' span per grain call (the runtime's own source is too chatty to export by default).</summary>
    public const string OrleansApplicationSource = "Microsoft.Orleans.Application";

    public const string MetricsPath = "/metrics";

    public static WebApplicationBuilder AddChatClusterTelemetry(this WebApplicationBuilder builder)
    {
        var exportOtlp = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                serviceName: Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "chatcluster-silo",
                serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithMetrics(metrics => metrics
                .AddMeter(InferenceTelemetry.SourceName, GatewayTelemetry.MeterName, Routing.RoutingTelemetry.MeterName, "Microsoft.Orleans")
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());
        if (exportOtlp)
        {
            builder.Logging.AddOpenTelemetry(o =>
            {
                o.IncludeFormattedMessage = true;
                o.IncludeScopes = true;
            });
            telemetry
                .WithTracing(tracing => tracing
                    .AddSource(InferenceTelemetry.SourceName, OrleansApplicationSource)
                    .AddAspNetCoreInstrumentation(o => o.Filter = static context => context.Request.Path != MetricsPath)
                    .AddHttpClientInstrumentation())
                .UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>GET /metrics in Prometheus' text format.</summary>
    public static WebApplication MapChatClusterMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }
}
