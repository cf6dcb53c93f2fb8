using System.Diagnostics;
using System.Diagnostics.Metrics;
using ChatCluster.Grains.Inference;

namespace ChatCluster.Silo.Routing;

/// <summary>The router's metrics: decisions by reason and engine, and every engine's load as this silo last read it.</summary>
internal static class RoutingTelemetry
{
    public const string MeterName = "ChatCluster.Routing";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Decisions = Meter.CreateCounter<long>(
        "chatcluster.routing.decisions", "{request}", "Requests routed to an engine, by reason (cache, prefix, least_loaded, fallback; random with routing off) and engine.");

    /// <summary>
    /// The loads the gauges publish: those of every routing silo running in this process, which is one outside the
    /// tests (the meters are process-wide; with only the last silo's loads, a test's scrape could find another test's
    /// silo there, not yet polled or already stopped, and no routing series).
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<EngineLoads, byte> Tracked = new();

    static RoutingTelemetry()
    {
        Meter.CreateObservableGauge("chatcluster.routing.engine.outstanding", () => Observe(static l => l.Outstanding), "{request}",
            "An engine's queued requests plus running rows, as this silo's router last read them.");
        Meter.CreateObservableGauge("chatcluster.routing.engine.queued", () => Observe(static l => l.QueuedRequests), "{request}",
            "Requests submitted to an engine and not yet running (waiting for a row or their prefill turn), as this silo's router last read them.");
    }

    public static void Track(EngineLoads loads) => Tracked.TryAdd(loads, 0);

    public static void Untrack(EngineLoads loads) => Tracked.TryRemove(loads, out _);

    public static void Decided(EngineRoute route)
    {
        Decisions.Add(1, new("reason", ReasonName(route.Reason)), new("engine", route.Engine));
        Activity.Current?.AddEvent(new ActivityEvent("route", tags: new ActivityTagsCollection
        {
            ["chatcluster.engine"] = route.Engine,
            ["chatcluster.route.reason"] = ReasonName(route.Reason),
        }));
    }

    public static string ReasonName(RouteReason reason) => reason switch
    {
        RouteReason.Cache => "cache",
        RouteReason.Prefix => "prefix",
        RouteReason.LeastLoaded => "least_loaded",
        RouteReason.Random => "random",
        _ => "fallback",
    };

    private static IEnumerable<Measurement<int>> Observe(Func<EngineLoad, int> read) =>
        Tracked.Keys.SelectMany(static l => l.Current.Engines.Values)
            .Select(r => new Measurement<int>(read(r.Load), new KeyValuePair<string, object?>("engine", r.Load.Engine)));
}
