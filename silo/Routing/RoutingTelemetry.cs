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

    /// <summary>The loads the gauges publish (one set per routing silo).</summary>
    private static EngineLoads? _loads;

    static RoutingTelemetry()
    {
        Meter.CreateObservableGauge("chatcluster.routing.engine.outstanding", () => Observe(static l => l.Outstanding), "{request}",
            "An engine's queued requests plus running rows, as this silo's router last read them.");
        Meter.CreateObservableGauge("chatcluster.routing.engine.queued", () => Observe(static l => l.QueuedRequests), "{request}",
            "Requests waiting for a batch row at an engine, as this silo's router last read them.");
    }

    public static void Track(EngineLoads loads) => _loads = loads;

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
        _loads?.Current.Engines.Values.Select(r => new Measurement<int>(read(r.Load), new KeyValuePair<string, object?>("engine", r.Load.Engine))) ?? [];
}
