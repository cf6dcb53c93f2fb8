using System.Buffers;
using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace ChatCluster.Inference.Tokenization;

/// <summary>
/// Byte-level BPE as GPT-2, Llama 3 and Qwen 2 use it, loaded from a Hugging Face tokenizer.json.
/// Encoding: split the text into pieces (GPT-2's pattern, or the model's own Split pattern), take each piece's
/// UTF-8 bytes as single-byte tokens, then repeatedly merge the adjacent pair with the lowest merge rank
/// (leftmost first among equals) until no pair has a rank. Decoding concatenates the tokens' bytes.
/// <see cref="Encode"/> treats all text as ordinary text: text that spells a control token ("&lt;|endoftext|&gt;")
/// encodes as the characters it is made of, never as the control token, so a user cannot forge one.
/// Instances are immutable apart from a bounded piece cache, and safe to share between threads.
/// </summary>
public sealed partial class BpeTokenizer
{
    /// <summary>Pieces longer than this are not cached: long pieces are rare, and they would crowd the cache.</summary>
    private const int MaxCachedPieceLength = 32;
    private const int PieceCacheCapacity = 16_384;
    private const int Dead = -1;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly Dictionary<long, Merge> _merges;
    private readonly int[] _byteToId;
    private readonly byte[]?[] _idToBytes;
    private readonly bool[] _isSpecial;
    private readonly AddedToken[] _addedTokens;
    private readonly Dictionary<string, int> _addedTokenIds;
    private readonly Regex? _splitPattern;
    private readonly bool _addPrefixSpace;
    private readonly bool _ignoreMerges;

    // Piece -> ids. Bounded by emptying it when full: cheap, and a chat's vocabulary refills it quickly.
    private readonly ConcurrentDictionary<string, int[]> _pieceCache = new();
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _pieceCacheBySpan;
    private int _pieceCacheCount;

    // Id -> the token's text where its bytes are whole UTF-8 characters on their own (most tokens), decoded on
    // first use; NotWholeText where they are not. Streamed text shares these instead of allocating a string per
    // token per row (the decode step's only per-row allocation).
    private static readonly string NotWholeText = new('\uFFFF', 1);
    private readonly string?[] _wholeText;

    [ThreadStatic] private static MergeScratch? t_scratch;

    /// <summary>A merge rule: the pair it applies to has this rank (lower merges first) and becomes token <see cref="Id"/>.</summary>
    private readonly record struct Merge(int Rank, int Id);

    public int VocabSize => _idToBytes.Length;

    public IReadOnlyList<AddedToken> AddedTokens => _addedTokens;

    /// <summary>The id of a vocabulary or added token spelled exactly <paramref name="token"/> (vocabulary
    /// tokens in their byte-level spelling, e.g. "Ġthe"), or null.</summary>
    public int? TokenToId(string token) =>
        _addedTokenIds.TryGetValue(token, out int id) || _vocab.TryGetValue(token, out id) ? id : null;

    /// <summary>The id of the added (control) token whose text is <paramref name="content"/>, e.g. "&lt;|im_end|&gt;".</summary>
    public bool TryGetSpecialTokenId(string content, out int id) => _addedTokenIds.TryGetValue(content, out id);

    /// <summary>True if <paramref name="id"/> is a token of this vocabulary (ids can have gaps).</summary>
    public bool ContainsId(int id) => (uint)id < (uint)_idToBytes.Length && _idToBytes[id] is not null;

    /// <summary>True for added tokens marked special (end of text, chat control tokens).</summary>
    public bool IsSpecialToken(int id) => (uint)id < (uint)_isSpecial.Length && _isSpecial[id];

    /// <summary>Appends the ids of <paramref name="text"/>, all of it ordinary text, to <paramref name="ids"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> ids)
    {
        if (text.IsEmpty)
            return;
        if (_addPrefixSpace && text[0] != ' ')
            text = string.Concat(" ", text);

        if (_splitPattern is null)
        {
            for (int position = 0; position < text.Length;)
            {
                int length = Gpt2PreTokenizer.NextPieceLength(text[position..]);
                EncodePiece(text.Slice(position, length), ids);
                position += length;
            }
            return;
        }

        // Split with "Isolated" behaviour: matches and the gaps between them are both pieces. .NET's Regex sees a
        // letter or digit beyond the BMP as two surrogates, so on such text another model's pattern can split
        // differently from its reference (GPT-2's pattern never comes here: see Gpt2PreTokenizer).
        int gapStart = 0;
        foreach (ValueMatch match in _splitPattern.EnumerateMatches(text))
        {
            if (match.Index > gapStart)
                EncodePiece(text[gapStart..match.Index], ids);
            if (match.Length > 0)
                EncodePiece(text.Slice(match.Index, match.Length), ids);
            gapStart = match.Index + match.Length;
        }
        if (gapStart < text.Length)
            EncodePiece(text[gapStart..], ids);
    }

    /// <summary>The ids of <paramref name="text"/> as ordinary text.</summary>
    public List<int> Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 1);
        Encode(text.AsSpan(), ids);
        return ids;
    }

    /// <summary>
    /// The text of <paramref name="ids"/>. Added tokens decode to their content unless
    /// <paramref name="skipSpecialTokens"/> drops the special ones. Byte sequences that are not valid UTF-8
    /// (a sequence cut mid-character) decode to U+FFFD.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not a token of this vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        int byteCount = 0;
        foreach (int id in ids)
            byteCount += TokenBytes(id).Length;

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(byteCount, 1));
        try
        {
            int written = 0;
            foreach (int id in ids)
            {
                if (skipSpecialTokens && _isSpecial[id])
                    continue;
                ReadOnlySpan<byte> bytes = TokenBytes(id);
                bytes.CopyTo(buffer.AsSpan(written));
                written += bytes.Length;
            }
            return Encoding.UTF8.GetString(buffer, 0, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The bytes token <paramref name="id"/> stands for (an added token: its content in UTF-8).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not a token of this vocabulary.</exception>
    public ReadOnlySpan<byte> TokenBytes(int id)
    {
        byte[]? bytes = (uint)id < (uint)_idToBytes.Length ? _idToBytes[id] : null;
        if (bytes is null)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is not in the vocabulary (ids 0..{_idToBytes.Length - 1}).");
        return bytes;
    }

    /// <summary>
    /// The text of token <paramref name="id"/> alone, when its bytes are whole, valid UTF-8 characters; the same
    /// string instance on every call. False for a token that ends part-way through a character.
    /// </summary>
    public bool TryGetWholeText(int id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text)
    {
        var cached = _wholeText[id];
        if (cached is null)
        {
            var bytes = TokenBytes(id);
            cached = System.Text.Unicode.Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : NotWholeText;
            _wholeText[id] = cached;
        }

        text = ReferenceEquals(cached, NotWholeText) ? null : cached;
        return text is not null;
    }

    private void EncodePiece(ReadOnlySpan<char> piece, List<int> ids)
    {
        bool cacheable = piece.Length <= MaxCachedPieceLength;
        if (cacheable && _pieceCacheBySpan.TryGetValue(piece, out int[]? cached))
        {
            ids.AddRange(cached);
            return;
        }

        int start = ids.Count;
        int maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rented = null;
        Span<byte> buffer = maxBytes <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            // Lone surrogates become U+FFFD's bytes, as in the references.
            int length = Encoding.UTF8.GetBytes(piece, buffer);
            ReadOnlySpan<byte> bytes = buffer[..length];
            if (!_ignoreMerges || !TryAddWholePiece(bytes, ids))
                MergePiece(bytes, ids);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }

        if (cacheable)
            AddToCache(piece, CollectionsMarshal.AsSpan(ids)[start..]);
    }

    private void AddToCache(ReadOnlySpan<char> piece, ReadOnlySpan<int> pieceIds)
    {
        if (Interlocked.Increment(ref _pieceCacheCount) > PieceCacheCapacity)
        {
            _pieceCache.Clear();
            Interlocked.Exchange(ref _pieceCacheCount, 0);
        }
        _pieceCache.TryAdd(piece.ToString(), pieceIds.ToArray());
    }

    /// <summary>ignore_merges (Llama 3): a piece that is itself a vocabulary token is that token.</summary>
    private bool TryAddWholePiece(ReadOnlySpan<byte> bytes, List<int> ids)
    {
        char[]? rented = null;
        Span<char> spelling = bytes.Length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(bytes.Length));
        try
        {
            ByteLevelAlphabet.Encode(bytes, spelling);
            if (!_vocabBySpan.TryGetValue(spelling[..bytes.Length], out int id))
                return false;
            ids.Add(id);
            return true;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// BPE over one piece. The symbols form a linked list over positions; a min-heap holds candidate merges
    /// keyed by (rank, left position), so the lowest rank merges first and the leftmost of equal ranks before
    /// the others. A heap entry is stale once its left symbol died or changed; it is then skipped. O(n log n).
    /// </summary>
    private void MergePiece(ReadOnlySpan<byte> bytes, List<int> ids)
    {
        int n = bytes.Length;
        if (n == 1)
        {
            ids.Add(_byteToId[bytes[0]]);
            return;
        }

        MergeScratch scratch = t_scratch ??= new MergeScratch();
        scratch.EnsureCapacity(n);
        int[] symbol = scratch.Symbols, next = scratch.Next, previous = scratch.Previous;
        PriorityQueue<int, long> queue = scratch.Queue;
        queue.Clear();

        for (int i = 0; i < n; i++)
        {
            symbol[i] = _byteToId[bytes[i]];
            previous[i] = i - 1;
            next[i] = i + 1;
        }
        for (int i = 0; i < n - 1; i++)
            EnqueueMerge(i);

        while (queue.TryDequeue(out int left, out long priority))
        {
            int right = next[left];
            if (symbol[left] == Dead || right >= n
                || !_merges.TryGetValue(PairKey(symbol[left], symbol[right]), out Merge merge)
                || merge.Rank != (int)(priority >> 32))
                continue;

            symbol[left] = merge.Id;
            symbol[right] = Dead;
            next[left] = next[right];
            if (next[left] < n)
                previous[next[left]] = left;
            if (previous[left] >= 0)
                EnqueueMerge(previous[left]);
            EnqueueMerge(left);
        }

        for (int i = 0; i < n; i = next[i])
            ids.Add(symbol[i]);

        void EnqueueMerge(int left)
        {
            int right = next[left];
            if (right < n && _merges.TryGetValue(PairKey(symbol[left], symbol[right]), out Merge merge))
                queue.Enqueue(left, ((long)merge.Rank << 32) | (uint)left);
        }
    }

    private static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Per-thread working memory of <see cref="MergePiece"/>, grown on demand and reused.</summary>
    private sealed class MergeScratch
    {
        public int[] Symbols = new int[64];
        public int[] Next = new int[64];
        public int[] Previous = new int[64];
        public readonly PriorityQueue<int, long> Queue = new();

        public void EnsureCapacity(int length)
        {
            if (Symbols.Length >= length)
                return;
            int size = (int)BitOperations.RoundUpToPowerOf2((uint)length);
            Symbols = new int[size];
            Next = new int[size];
            Previous = new int[size];
        }
    }
}
