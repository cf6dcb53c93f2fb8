using System.Collections.Concurrent;
using ChatCluster.Grains;

namespace ChatCluster.Silo.Storage;

/// <summary>
/// Grain state in this process only (single-node mode without --redis): lost when the process ends. Bytes are
/// copied in and out, so neither the writer nor a reader can change what is stored.
/// </summary>
public sealed class MemoryGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<GrainId, byte[]> _states = new();

    public Task<byte[]?> ReadAsync(GrainId id, CancellationToken cancellationToken) =>
        Task.FromResult(_states.TryGetValue(id, out byte[]? state) ? (byte[]?)state.ToArray() : null);

    public Task WriteAsync(GrainId id, ReadOnlyMemory<byte> state, CancellationToken cancellationToken)
    {
        _states[id] = state.ToArray();
        return Task.CompletedTask;
    }

    public Task ClearAsync(GrainId id, CancellationToken cancellationToken)
    {
        _states.TryRemove(id, out _);
        return Task.CompletedTask;
    }
}
