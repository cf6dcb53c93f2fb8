using ChatCluster.Inference.Model;

namespace ChatCluster.Inference.Scheduling;

/// <summary>
/// Conversations' KV caches kept between turns, so that the next turn prefills only its new tokens. Bounded
/// by the pinned memory its caches hold (their buffers' capacity, which a cache reused from a longer
/// conversation may hold beyond its own length); the least recently used entry is evicted first, and handed
/// to <paramref name="evicted"/> for reuse. A hit is removed from the cache (the sequence that takes it puts
/// back a longer one when it ends). Owned by the scheduler loop: not thread-safe.
/// </summary>
internal sealed class PrefixCache(long capacityBytes, Action<KvCache> evicted)
{
    private readonly Dictionary<string, LinkedListNode<Entry>> _byKey = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new();

    /// <summary>Pinned memory held by the kept caches.</summary>
    public long Bytes { get; private set; }

    public int Count => _byKey.Count;

    public void Put(string key, int[] tokens, KvCache cache)
    {
        Evict(key);
        if (cache.CapacityBytes > capacityBytes)
        {
            evicted(cache);
            return;
        }

        while (Bytes + cache.CapacityBytes > capacityBytes && _recency.Last is { } oldest)
        {
            Evict(oldest.Value.Key);
        }

        _byKey[key] = _recency.AddFirst(new Entry(key, tokens, cache));
        Bytes += cache.CapacityBytes;
    }

    public bool Contains(string key) => _byKey.ContainsKey(key);

    /// <summary>Takes the entry for <paramref name="key"/>, if any.</summary>
    public bool TryTake(string key, out int[] tokens, out KvCache cache)
    {
        if (_byKey.TryGetValue(key, out var node))
        {
            (tokens, cache) = (node.Value.Tokens, node.Value.Cache);
            Remove(key);
            return true;
        }

        (tokens, cache) = ([], null!);
        return false;
    }

    private void Remove(string key)
    {
        if (_byKey.Remove(key, out var node))
        {
            _recency.Remove(node);
            Bytes -= node.Value.Cache.CapacityBytes;
        }
    }

    private void Evict(string key)
    {
        if (_byKey.TryGetValue(key, out var node))
        {
            Remove(key);
            evicted(node.Value.Cache);
        }
    }

    private sealed record Entry(string Key, int[] Tokens, KvCache Cache);
}
