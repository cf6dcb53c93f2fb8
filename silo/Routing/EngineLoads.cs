using System.Collections.Frozen;
using System.Diagnostics;
using ChatCluster.Grains.Inference;

namespace ChatCluster.Silo.Routing;

/// <summary>
/// The engines' loads as this silo last read them: written by <see cref="EngineCatalog"/> after each poll,
/// read by the router and the routing gauges without a lock (a published snapshot is never changed).
/// </summary>
public sealed class EngineLoads
{
    private volatile Snapshot _current = new(FrozenDictionary<string, Report>.Empty, 0);

    /// <summary>An engine's load and when it was read (a <see cref="Stopwatch"/> timestamp).</summary>
    public readonly record struct Report(EngineLoad Load, long At);

    /// <summary>Every engine that answered the last poll, by key; <see cref="Version"/> counts polls.</summary>
    public sealed record Snapshot(FrozenDictionary<string, Report> Engines, long Version);

    public Snapshot Current => _current;

    /// <summary>Replaces the snapshot with the loads of one poll, read now.</summary>
    public void Publish(IEnumerable<EngineLoad> loads)
    {
        var at = Stopwatch.GetTimestamp();
        _current = new Snapshot(loads.ToFrozenDictionary(l => l.Engine, l => new Report(l, at), StringComparer.Ordinal), _current.Version + 1);
    }
}
