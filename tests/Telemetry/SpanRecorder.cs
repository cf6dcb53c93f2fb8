using System.Collections.Concurrent;
using System.Diagnostics;

namespace ChatCluster.Tests.Telemetry;

/// <summary>
/// Records the spans this process's servers make (ASP.NET Core's request, Orleans' grain calls, the engine's),
/// as an OpenTelemetry exporter would receive them.
/// </summary>
public sealed class SpanRecorder : IDisposable
{
    public const string RequestOperation = "Microsoft.AspNetCore.Hosting.HttpRequestIn";
    public const string OrleansSource = "Microsoft.Orleans.Application";

    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name is "Microsoft.AspNetCore" or OrleansSource or "ChatCluster.Inference",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The engine span of a turn of this conversation, once it and every span above it up to the request have ended.</summary>
    public Activity? EngineSpanOfTurn(string conversationId) => _spans.FirstOrDefault(a =>
        a.DisplayName == "inference.chat"
        && Ancestors(a).Any(IsCallTo(conversationId))
        && Ancestors(a).LastOrDefault()?.OperationName == RequestOperation);

    public IReadOnlyCollection<Activity> All => _spans;

    public IEnumerable<Activity> Children(Activity span) => _spans.Where(a => a.ParentSpanId == span.SpanId && a.TraceId == span.TraceId);

    /// <summary>The parents of <paramref name="span"/> among the recorded spans, nearest first.</summary>
    public IEnumerable<Activity> Ancestors(Activity span)
    {
        var byId = _spans.GroupBy(a => a.SpanId).ToDictionary(g => g.Key, g => g.First());
        for (var current = span; byId.TryGetValue(current.ParentSpanId, out var parent); current = parent)
        {
            yield return parent;
        }
    }

    /// <summary>An Orleans span of a call to this conversation's grain (its id is in the target tag).</summary>
    public static Func<Activity, bool> IsCallTo(string conversationId) => a =>
        a.Source.Name == OrleansSource && a.Tags.Any(t => t.Value is { } value && value.Contains(conversationId, StringComparison.Ordinal));

    public void Dispose() => _listener.Dispose();
}
