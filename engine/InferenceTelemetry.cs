using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ChatCluster.Inference;

/// <summary>
/// The engine's traces and metrics. Instruments cost a check of <c>Enabled</c> when nobody listens, so they
/// stay on the hot path. Names follow OpenTelemetry's GenAI semantic conventions where one exists
/// (<c>gen_ai.server.*</c>, seconds), the project's own (<c>chatcluster.inference.*</c>) elsewhere.
/// </summary>
public static class InferenceTelemetry
{
    public const string SourceName = "ChatCluster.Inference";

    public static readonly ActivitySource Source = new(SourceName);

    private static readonly Meter Meter = new(SourceName);

    /// <summary>The engines of this process, read by the observable gauges (a test process may hold several).</summary>
    private static readonly ConcurrentDictionary<InferenceEngine, byte> Engines = new();

    /// <summary>Tokens generated, all sequences together.</summary>
    public static readonly Counter<long> GeneratedTokens = Meter.CreateCounter<long>("chatcluster.inference.generated_tokens", "{token}");

    /// <summary>Tokens of the prompts requests brought (before kept caches spare some of them).</summary>
    public static readonly Counter<long> PromptTokens = Meter.CreateCounter<long>("chatcluster.inference.prompt_tokens", "{token}");

    /// <summary>Prompt tokens run through the model (kept caches spare the rest).</summary>
    public static readonly Counter<long> PrefilledTokens = Meter.CreateCounter<long>("chatcluster.inference.prefilled_tokens", "{token}");

    /// <summary>Wall time of one scheduler step (prefill chunk, rebuild and decode).</summary>
    public static readonly Histogram<double> StepDuration = Meter.CreateHistogram<double>(
        "chatcluster.inference.step.duration", "ms", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128] });

    /// <summary>Rows decoded together in one model call.</summary>
    public static readonly Histogram<int> BatchRows = Meter.CreateHistogram<int>(
        "chatcluster.inference.batch.rows", "{row}", advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });

    /// <summary>Time from a request's arrival at the engine to its first token.</summary>
    public static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram<double>(
        "gen_ai.server.time_to_first_token", "s", advice: LatencyBuckets);

    /// <summary>Time between a request's consecutive tokens after the first (inter-token latency).</summary>
    public static readonly Histogram<double> TimePerOutputToken = Meter.CreateHistogram<double>(
        "gen_ai.server.time_per_output_token", "s", advice: LatencyBuckets);

    /// <summary>Time from a request's arrival at the engine to its end, tagged with the finish reason.</summary>
    public static readonly Histogram<double> RequestDuration = Meter.CreateHistogram<double>(
        "gen_ai.server.request.duration", "s", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    static InferenceTelemetry()
    {
        Meter.CreateObservableGauge("chatcluster.inference.queue.depth", () => Observe(static e => e.Scheduler.QueuedRequests), "{request}",
            "Requests waiting for a batch row.");
        Meter.CreateObservableGauge("chatcluster.inference.active_sequences", () => Observe(static e => e.Scheduler.ActiveRows), "{row}",
            "Rows decoding now (sequences, or beams).");
        Meter.CreateObservableGauge("chatcluster.inference.kv_cache.size", () => Observe(static e => e.Scheduler.KvCacheBytes), "By",
            "KV cache held: the running batch's and the kept caches of finished turns.");
    }

    private static InstrumentAdvice<double> LatencyBuckets { get; } = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    };

    internal static void Track(InferenceEngine engine) => Engines.TryAdd(engine, 0);

    internal static void Untrack(InferenceEngine engine) => Engines.TryRemove(engine, out _);

    private static IEnumerable<Measurement<T>> Observe<T>(Func<InferenceEngine, T> read) where T : struct =>
        Engines.Keys.Select(e => new Measurement<T>(read(e),
            new KeyValuePair<string, object?>("gen_ai.request.model", e.Info.Id), new KeyValuePair<string, object?>("device", e.Info.Device)));
}
