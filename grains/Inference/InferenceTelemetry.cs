using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ChatCluster.Inference;

/// <summary>
/// The engine's traces and metrics. Instruments cost a check of <c>Enabled</c> when nobody listens, so they
/// stay on the hot path; the silo exports them over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
/// </summary>
public static class InferenceTelemetry
{
    public const string SourceName = "ChatCluster.Inference";

    public static readonly ActivitySource Source = new(SourceName);

    private static readonly Meter Meter = new(SourceName);

    /// <summary>Tokens generated, all sequences together.</summary>
    public static readonly Counter<long> GeneratedTokens = Meter.CreateCounter<long>("chatcluster.inference.generated_tokens", "{token}");

    /// <summary>Prompt tokens run through the model (kept caches spare the rest).</summary>
    public static readonly Counter<long> PrefilledTokens = Meter.CreateCounter<long>("chatcluster.inference.prefilled_tokens", "{token}");

    /// <summary>Wall time of one scheduler step (prefill chunk, rebuild and decode).</summary>
    public static readonly Histogram<double> StepDuration = Meter.CreateHistogram<double>("chatcluster.inference.step.duration", "ms");

    /// <summary>Rows decoded together in one model call.</summary>
    public static readonly Histogram<int> BatchRows = Meter.CreateHistogram<int>("chatcluster.inference.batch.rows", "{row}");

    /// <summary>Time from a request's arrival to its first token.</summary>
    public static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram<double>("chatcluster.inference.time_to_first_token", "ms");
}
