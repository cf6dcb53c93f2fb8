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
    private readonly BpeTokenizer? _tokenizer;
    private readonly List<int> _encoded = [];

    private TokenVocabulary(int size, byte[][] tokenBytes, int[] endTokens, BpeTokenizer? tokenizer = null)
    {
        Size = size;
        _tokenizer = tokenizer;
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

    /// <summary>
    /// The first token of <paramref name="text"/> as the tokenizer encodes it (typed text: no control tokens), or -1
    /// when the bytes are not whole UTF-8 characters. Callers hold the grammar's lock, which guards the scratch list.
    /// </summary>
    internal int FirstTokenOf(ReadOnlySpan<byte> text)
    {
        if (_tokenizer is null || !System.Text.Unicode.Utf8.IsValid(text))
        {
            return -1;
        }

        _encoded.Clear();
        _tokenizer.Encode(System.Text.Encoding.UTF8.GetString(text), _encoded);
        return _encoded.Count > 0 ? _encoded[0] : -1;
    }

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

        return new TokenVocabulary(width, bytes, ends, tokenizer);
    }
}
