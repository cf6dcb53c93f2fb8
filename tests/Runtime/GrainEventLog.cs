using System.Collections.Concurrent;
using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime;

/// <summary>
/// Events the test grains log, per grain, readable by a test without a grain call (which would queue behind
/// the grain's turn and so could not show what happened before the turn ended).
/// </summary>
public sealed class GrainEventLog
{
    private readonly ConcurrentDictionary<GrainId, ConcurrentQueue<string>> _events = new();

    public void Add(GrainId id, string entry) => _events.GetOrAdd(id, static _ => new ConcurrentQueue<string>()).Enqueue(entry);

    public IReadOnlyList<string> Of(GrainId id) => _events.TryGetValue(id, out var events) ? [.. events] : [];
}
