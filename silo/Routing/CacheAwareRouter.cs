using System.Diagnostics;
using ChatCluster.Grains.Inference;

namespace ChatCluster.Silo.Routing;

/// <summary>
/// The default routing policy. Load is an engine's queued requests plus running rows as it last reported
/// them (<see cref="EngineLoads"/>, read by <see cref="EngineCatalog"/> every 0.5 s), plus the requests this silo sent it since: a burst
/// sees its own decisions at once instead of herding onto the engine that looked idle half a second ago.
/// <list type="number">
/// <item>Candidates: engines that reported, are not draining, are not excluded, and have not failed a request
/// since their last report.</item>
/// <item>A conversation turn goes to the engine that holds its KV cache (<see cref="RouteReason.Cache"/>), unless
/// more than <see cref="RoutingOptions.AffinityQueueLimit"/> requests wait there: prefilling the whole history
/// elsewhere then beats waiting for a row.</item>
/// <item>A stateless request goes to its prompt prefix's engine (<see cref="RouteReason.Prefix"/>), chosen by
/// rendezvous hashing of the prefix over the candidates, so every front silo picks the same engine for the same
/// system prompt and first message without sharing any state, and an engine leaving moves only its own
/// prefixes; unless that engine's load exceeds the least load by more than
/// <see cref="RoutingOptions.PrefixLoadSlack"/>, so a popular system prompt cannot make a hotspot.</item>
/// <item>Otherwise the least loaded candidate, ties broken at random (<see cref="RouteReason.LeastLoaded"/>,
/// or <see cref="RouteReason.Fallback"/> when an affinity above was refused).</item>
/// </list>
/// </summary>
internal sealed class CacheAwareRouter(EngineLoads loads, RoutingOptions options) : IEngineRouter
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _sentSinceReport = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _failedAt = new(StringComparer.Ordinal);
    private long _countedVersion = -1;

    public IReadOnlyCollection<string> Models => loads.Current.Engines.Values.Select(static r => r.Load.Model).Distinct().ToArray();

    public EngineRoute Route(RouteHint hint, IReadOnlyCollection<string> exclude)
    {
        EngineRoute route;
        lock (_gate)
        {
            var snapshot = loads.Current;
            if (snapshot.Version != _countedVersion)
            {
                // The new reports include what was sent before them (near enough: a request in flight during the poll
                // may be counted twice for half a second).
                _sentSinceReport.Clear();
                _countedVersion = snapshot.Version;
            }

            var candidates = new List<(string Engine, EngineLoad Load, int Weight)>(snapshot.Engines.Count);
            foreach (var (engine, report) in snapshot.Engines)
            {
                if (!report.Load.Draining && !exclude.Contains(engine)
                    && !(_failedAt.TryGetValue(engine, out var failedAt) && failedAt > report.At))
                {
                    candidates.Add((engine, report.Load, report.Load.Outstanding + _sentSinceReport.GetValueOrDefault(engine)));
                }
            }

            if (candidates.Count == 0)
            {
                throw new NoEngineException(snapshot.Engines.Count == 0
                    ? "No inference engine is serving in the cluster now (none has started, or all have left); retry shortly."
                    : "No inference engine can take the request now (every engine is draining or failing); retry shortly.");
            }

            route = Choose(hint, candidates);
            _sentSinceReport[route.Engine] = _sentSinceReport.GetValueOrDefault(route.Engine) + 1;
        }

        RoutingTelemetry.Decided(route);
        return route;
    }

    public void MarkFailed(string engine)
    {
        lock (_gate)
        {
            _failedAt[engine] = Stopwatch.GetTimestamp();
        }
    }

    private EngineRoute Choose(RouteHint hint, List<(string Engine, EngineLoad Load, int Weight)> candidates)
    {
        if (options.Random)
        {
            return new EngineRoute(candidates[Random.Shared.Next(candidates.Count)].Engine, RouteReason.Random);
        }

        var least = candidates.Min(static c => c.Weight);
        if (hint.CacheEngine is { } holder)
        {
            var match = candidates.FindIndex(c => c.Engine == holder);
            if (match >= 0 && ExpectedQueue(candidates[match].Load, candidates[match].Weight) <= options.AffinityQueueLimit)
            {
                return new EngineRoute(holder, RouteReason.Cache);
            }
        }
        else if (hint.PrefixKey is { } prefix)
        {
            var preferred = candidates.MaxBy(c => RendezvousScore(prefix, c.Engine));
            if (preferred.Weight <= least + options.PrefixLoadSlack)
            {
                return new EngineRoute(preferred.Engine, RouteReason.Prefix);
            }
        }

        var tied = candidates.Where(c => c.Weight == least).ToArray();
        var engine = tied[tied.Length == 1 ? 0 : Random.Shared.Next(tied.Length)].Engine;
        var hadAffinity = hint.CacheEngine is not null || hint.PrefixKey is not null;
        return new EngineRoute(engine, hadAffinity ? RouteReason.Fallback : RouteReason.LeastLoaded);
    }

    /// <summary>
    /// Requests that will wait for a row there: its rows running and requests waiting, plus what this silo sent it
    /// since its report, beyond its batch rows. Not the queue it reported alone: requests just submitted wait in that
    /// queue for their prefill turn even while rows are free (a burst of 10 turns to an engine with 32 rows reported
    /// 10 queued, and sent the next turns of those conversations away from their caches).
    /// </summary>
    private static int ExpectedQueue(EngineLoad load, int weight) => weight - load.MaxBatchRows;

    /// <summary>Highest-random-weight hashing: FNV-1a of prefix and engine, the same in every process (string.GetHashCode is not).</summary>
    private static ulong RendezvousScore(string prefix, string engine)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in prefix)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        hash = (hash ^ '|') * 1099511628211UL;
        foreach (var c in engine)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        // FNV's low bits mix poorly for short keys that differ at the end: finish with a multiply-xorshift.
        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccdUL;
        return hash ^ (hash >> 33);
    }
}
