using System.Collections.Concurrent;
using ChatCluster.Grains;

namespace ChatCluster.Silo.Storage;

/// <summary>
/// Grain state in this process's memory: the single-node default, gone when the process ends. Records are
/// copied in and out, so no caller can change a stored record through a buffer it still holds.
/// </summary>
public sealed class MemoryGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<GrainId, byte[]> _records = new();

    public Task<byte[]?> ReadAsync(GrainId id, CancellationToken cancellationToken) =>
        Task.FromResult(_records.TryGetValue(id, out var record) ? record.AsSpan().ToArray() : null);

    public Task WriteAsync(GrainId id, ReadOnlyMemory<byte> state, CancellationToken cancellationToken)
    {
        _records[id] = state.ToArray();
        return Task.CompletedTask;
    }

    public Task ClearAsync(GrainId id, CancellationToken cancellationToken)
    {
        _records.TryRemove(id, out _);
        return Task.CompletedTask;
    }
}
