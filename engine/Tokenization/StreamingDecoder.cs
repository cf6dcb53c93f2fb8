using System.Buffers;
using System.Text.Unicode;

namespace ChatCluster.Inference.Tokenization;

/// <summary>
/// Turns one sequence's generated tokens into text as they arrive. A byte-level token can end part-way through
/// a UTF-8 character (an emoji is often two or three tokens); the decoder holds those bytes back and emits the
/// character once its last byte arrives, so streamed text never carries a broken character. The pieces it
/// returns, followed by <see cref="Flush"/>, concatenate to <see cref="BpeTokenizer.Decode"/> of the same ids.
/// One instance per sequence, reusable through <see cref="Reset"/>; not thread-safe. Allocates nothing for a
/// token that is whole characters on its own (its text is shared), and nothing beyond the returned string else.
/// </summary>
public sealed class StreamingDecoder : IDisposable
{
    private readonly BpeTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    // The bytes not yet emitted: at most 3 held-back bytes of an unfinished character, plus the new token's.
    private byte[] _pending;
    private int _pendingCount;
    // UTF-8 never decodes to more UTF-16 chars than it has bytes, so this is kept at least as long as _pending.
    private char[] _chars;

    public StreamingDecoder(BpeTokenizer tokenizer, bool skipSpecialTokens = false)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
        _pending = ArrayPool<byte>.Shared.Rent(64);
        _chars = ArrayPool<char>.Shared.Rent(64);
    }

    /// <summary>The text that <paramref name="tokenId"/> completes; "" while a character is still unfinished.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not a token of the vocabulary.</exception>
    public string Append(int tokenId)
    {
        ReadOnlySpan<byte> bytes = _tokenizer.TokenBytes(tokenId);
        if (_skipSpecialTokens && _tokenizer.IsSpecialToken(tokenId))
            return "";
        // Nothing held back and the token is whole characters: its text is the tokenizer's shared string.
        if (_pendingCount == 0 && _tokenizer.TryGetWholeText(tokenId, out string? whole))
            return whole;
        EnsureCapacity(_pendingCount + bytes.Length);
        bytes.CopyTo(_pending.AsSpan(_pendingCount));
        _pendingCount += bytes.Length;
        return DecodePending(isFinalBlock: false);
    }

    /// <summary>Ends the sequence: held-back bytes of a character that never finished decode to U+FFFD.</summary>
    public string Flush() => DecodePending(isFinalBlock: true);

    /// <summary>Forgets held-back bytes, so the decoder can start another sequence.</summary>
    public void Reset() => _pendingCount = 0;

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_pending);
        ArrayPool<char>.Shared.Return(_chars);
        _pending = [];
        _chars = [];
    }

    private string DecodePending(bool isFinalBlock)
    {
        if (_pendingCount == 0)
            return "";
        // Invalid sequences become U+FFFD exactly as Encoding.UTF8 does in a whole-sequence decode; an
        // unfinished one at the end is left unread (NeedMoreData) unless this is the final block.
        Utf8.ToUtf16(_pending.AsSpan(0, _pendingCount), _chars, out int bytesRead, out int charsWritten,
            replaceInvalidSequences: true, isFinalBlock: isFinalBlock);
        int remaining = _pendingCount - bytesRead;
        _pending.AsSpan(bytesRead, remaining).CopyTo(_pending);
        _pendingCount = remaining;
        return charsWritten == 0 ? "" : new string(_chars, 0, charsWritten);
    }

    private void EnsureCapacity(int byteCount)
    {
        if (byteCount > _pending.Length)
        {
            byte[] pending = ArrayPool<byte>.Shared.Rent(byteCount);
            _pending.AsSpan(0, _pendingCount).CopyTo(pending);
            ArrayPool<byte>.Shared.Return(_pending);
            _pending = pending;
        }
        if (byteCount > _chars.Length)
        {
            ArrayPool<char>.Shared.Return(_chars);
            _chars = ArrayPool<char>.Shared.Rent(byteCount);
        }
    }
}
