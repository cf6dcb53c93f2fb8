using System.Collections.Concurrent;
using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime;

/// <summary>
/// What the test grains report about their lifecycle (a singleton in the test container): activations and
/// deactivations per grain, and an optional gate that holds OnDeactivateAsync.
/// </summary>
public sealed class ActivationJournal
{
    private readonly ConcurrentDictionary<GrainId, Entry> _entries = new();

    /// <summary>When set, OnDeactivateAsync of the journaling grains waits for it (after reporting that it started).</summary>
    public TaskCompletionSource? DeactivationGate { get; set; }

    public int Activations(GrainId id) => Get(id).Activations;

    public int Deactivations(GrainId id) => Get(id).Deactivations;

    public void Activated(GrainId id) => Interlocked.Increment(ref Get(id).Activations);

    public async Task DeactivatingAsync(GrainId id)
    {
        var entry = Get(id);
        entry.DeactivationStarted.TrySetResult();
        if (DeactivationGate is { } gate)
        {
            await gate.Task;
        }

        Interlocked.Increment(ref entry.Deactivations);
    }

    /// <summary>Completes when OnDeactivateAsync of the grain has begun.</summary>
    public Task DeactivationStarted(GrainId id) => Get(id).DeactivationStarted.Task;

    private Entry Get(GrainId id) => _entries.GetOrAdd(id, static _ => new Entry());

    private sealed class Entry
    {
        public readonly TaskCompletionSource DeactivationStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Activations;
        public int Deactivations;
    }
}
