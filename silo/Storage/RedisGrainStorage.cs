using ChatCluster.Grains;
using ChatCluster.Silo.Redis;

namespace ChatCluster.Silo.Storage;

/// <summary>
/// Grain state in Redis, one string key per grain:
/// <c>chatcluster:grain:{type}/{key}</c> (e.g. <c>chatcluster:grain:conv/3f2a…</c>) holding the state's bytes
/// as written (UTF-8 JSON). The type names a grain interface and holds no '/', so the first '/' after the prefix
/// separates type from key. A write returns once Redis has acknowledged the SET; with <c>appendfsync always</c>
/// that means it is on disk.
/// </summary>
public sealed class RedisGrainStorage(RedisConnection redis) : IGrainStorage
{
    public const string KeyPrefix = "chatcluster:grain:";

    public static string KeyOf(GrainId id) => $"{KeyPrefix}{id.Type}/{id.Key}";

    public async Task<byte[]?> ReadAsync(GrainId id, CancellationToken cancellationToken) =>
        (await redis.ExecuteAsync("GET", KeyOf(id)).WaitAsync(cancellationToken)).AsBytes();

    // Cancelling stops the wait, not the write: once sent, the SET may still be applied.
    public Task WriteAsync(GrainId id, ReadOnlyMemory<byte> state, CancellationToken cancellationToken) =>
        redis.ExecuteAsync("SET", KeyOf(id), state).WaitAsync(cancellationToken);

    public Task ClearAsync(GrainId id, CancellationToken cancellationToken) =>
        redis.ExecuteAsync("DEL", KeyOf(id)).WaitAsync(cancellationToken);
}
