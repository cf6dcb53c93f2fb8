namespace ChatCluster.Inference.Structured;

/// <summary>
/// The ordinary tokens of a vocabulary as a byte trie laid out in preorder, so that a mask is one forward pass:
/// a token's node comes after its prefix's, and a dead prefix skips its whole subtree (<see cref="SubtreeEnd"/>).
/// Shared prefixes are walked once: that is what makes a mask over 150k tokens affordable.
/// </summary>
internal sealed class TokenTrie
{
    private TokenTrie(byte[] bytes, int[] depth, int[] subtreeEnd, int[] tokensStart, int[] tokens)
    {
        Byte = bytes;
        Depth = depth;
        SubtreeEnd = subtreeEnd;
        TokensStart = tokensStart;
        Tokens = tokens;
    }

    /// <summary>Node i's byte (the last byte of its prefix).</summary>
    public byte[] Byte { get; }

    /// <summary>Node i's prefix length (1 for the children of the root, which is not stored).</summary>
    public int[] Depth { get; }

    /// <summary>The first node after node i's subtree.</summary>
    public int[] SubtreeEnd { get; }

    /// <summary>Tokens[TokensStart[i]..TokensStart[i + 1]] are the tokens whose bytes are node i's prefix.</summary>
    public int[] TokensStart { get; }

    public int[] Tokens { get; }

    public int NodeCount => Byte.Length;

    public int MaxDepth { get; private init; }

    public static TokenTrie Build(IReadOnlyList<(int Id, byte[] Bytes)> tokens)
    {
        var sorted = tokens.Where(t => t.Bytes.Length > 0).OrderBy(t => t.Bytes, ByteArrayOrder.Instance).ToList();
        var bytes = new List<byte>();
        var depth = new List<int>();
        var endsAt = new int[sorted.Count];
        byte[] previous = [];
        for (var t = 0; t < sorted.Count; t++)
        {
            var token = sorted[t].Bytes;
            var common = 0;
            while (common < previous.Length && common < token.Length && previous[common] == token[common])
            {
                common++;
            }

            // In sorted order a token's new nodes follow its longest shared prefix; an identical token adds none.
            for (var d = common; d < token.Length; d++)
            {
                bytes.Add(token[d]);
                depth.Add(d + 1);
            }

            endsAt[t] = bytes.Count - 1;
            previous = token;
        }

        var starts = new int[bytes.Count + 1];
        foreach (var end in endsAt)
        {
            starts[end + 1]++;
        }

        for (var i = 1; i < starts.Length; i++)
        {
            starts[i] += starts[i - 1];
        }

        var subtreeEnd = new int[bytes.Count];
        var open = new Stack<int>();
        for (var i = 0; i < bytes.Count; i++)
        {
            while (open.Count > 0 && depth[open.Peek()] >= depth[i])
            {
                subtreeEnd[open.Pop()] = i;
            }

            open.Push(i);
        }

        while (open.Count > 0)
        {
            subtreeEnd[open.Pop()] = bytes.Count;
        }

        return new TokenTrie([.. bytes], [.. depth], subtreeEnd, starts, [.. sorted.Select(t => t.Id)])
        {
            MaxDepth = depth.Count == 0 ? 0 : depth.Max(),
        };
    }

    private sealed class ByteArrayOrder : IComparer<byte[]>
    {
        public static readonly ByteArrayOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
