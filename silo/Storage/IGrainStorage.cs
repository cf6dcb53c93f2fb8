using ChatCluster.Grains;

namespace ChatCluster.Silo.Storage;

/// <summary>
/// Where grain state lives (a provider, as Orleans' IGrainStorage): in memory by default, Redis with --redis.
/// State travels as serialized bytes (UTF-8 JSON); a completed write is durable as far as the backend is.
/// </summary>
public interface IGrainStorage
{
    /// <summary>The stored state, or null when none exists.</summary>
    Task<byte[]?> ReadAsync(GrainId id, CancellationToken cancellationToken);

    Task WriteAsync(GrainId id, ReadOnlyMemory<byte> state, CancellationToken cancellationToken);

    Task ClearAsync(GrainId id, CancellationToken cancellationToken);
}
