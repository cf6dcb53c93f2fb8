using ChatCluster.Inference.Model;

namespace ChatCluster.Inference.Scheduling;

/// <summary>
/// Conversations' KV caches kept between turns, so that the next turn prefills only its new tokens. Bounded
/// in bytes; the least recently used entry is evicted first. A hit is removed from the cache (the sequence
/// that takes it puts back a longer one when it ends). Owned by the scheduler loop: not thread-safe.
/// </summary>
internal sealed class PrefixCache(long capacityBytes)
{
    private readonly Dictionary<string, LinkedListNode<Entry>> _byKey = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new();

    public long Bytes { get; private set; }

    public int Count => _byKey.Count;

    public void Put(string key, int[] tokens, KvCache cache)
    {
        Remove(key);
        if (cache.Bytes > capacityBytes)
        {
            return;
        }

        while (Bytes + cache.Bytes > capacityBytes && _recency.Last is { } oldest)
        {
            Remove(oldest.Value.Key);
        }

        _byKey[key] = _recency.AddFirst(new Entry(key, tokens, cache));
        Bytes += cache.Bytes;
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
            Bytes -= node.Value.Cache.Bytes;
        }
    }

    private sealed record Entry(string Key, int[] Tokens, KvCache Cache);
}
