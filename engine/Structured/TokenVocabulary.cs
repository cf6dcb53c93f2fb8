using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Inference.Structured;

/// <summary>
/// What a grammar needs of a model's tokenizer: each ordinary token's bytes (as a <see cref="TokenTrie"/>) and
/// the end-of-sequence tokens. Added and special tokens are never allowed inside a grammar; end tokens are
/// allowed where the grammar may end. Build once per model; holds the bounded cache of compiled constraints.
/// </summary>
public sealed class TokenVocabulary
{
    private readonly byte[][] _tokenBytes;
    private readonly int[] _endTokens;

    private TokenVocabulary(int size, byte[][] tokenBytes, int[] endTokens)
    {
        Size = size;
        _tokenBytes = tokenBytes;
        _endTokens = endTokens;
        Trie = TokenTrie.Build([.. Enumerable.Range(0, size).Where(id => tokenBytes[id].Length > 0).Select(id => (id, tokenBytes[id]))]);
        Constraints = new ConstraintCache(this);
    }

    /// <summary>Logit rows are this wide (ids with no bytes are never allowed).</summary>
    public int Size { get; }

    public IReadOnlyList<int> EndTokens => _endTokens;

    public bool IsEndToken(int id) => Array.IndexOf(_endTokens, id) >= 0;

    internal TokenTrie Trie { get; }

    /// <summary>Compiled constraints of this vocabulary, most recently used kept.</summary>
    public ConstraintCache Constraints { get; }

    /// <summary>The bytes of token <paramref name="id"/>; empty for added, special and end tokens.</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) => _tokenBytes[id];

    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="endTokenIds">The tokens that end a reply (the engine's end tokens); may be empty.</param>
    /// <param name="size">Logit row width, when the model's is larger than the tokenizer's vocabulary.</param>
    public static TokenVocabulary From(BpeTokenizer tokenizer, IReadOnlyList<int>? endTokenIds = null, int? size = null)
    {
        var width = Math.Max(size ?? 0, tokenizer.VocabSize);
        var added = tokenizer.AddedTokens.Select(t => t.Id).ToHashSet();
        var ends = (endTokenIds ?? []).ToArray();
        var bytes = new byte[width][];
        for (var id = 0; id < width; id++)
        {
            var ordinary = id < tokenizer.VocabSize && tokenizer.ContainsId(id) && !added.Contains(id) && !ends.Contains(id);
            bytes[id] = ordinary ? tokenizer.TokenBytes(id).ToArray() : [];
        }

        return new TokenVocabulary(width, bytes, ends);
    }
}
