using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Tests.Tokenization;

/// <summary>
/// The request path's promises about memory: encoding warm text allocates nothing, and a streamed token that
/// completes no character allocates nothing. (Counts allocated bytes on this thread; timing is for benchmarks.)
/// </summary>
public sealed class TokenizationAllocationTests
{
    private static BpeTokenizer Gpt2 => Gpt2TokenizerJson.Tokenizer;

    [Fact]
    public void Encoding_text_whose_pieces_are_cached_allocates_nothing()
    {
        const string text = "The quick brown fox jumps over the lazy dog, again and again: 12345 😀 日本語!\n\n";
        (long allocated, List<int> ids) = AllocatedBytesOfASecondEncode(text);
        Assert.Equal(0, allocated);
        Assert.Equal(Gpt2.Encode(text), ids);
    }

    [Fact]
    public void Encoding_a_long_uncached_piece_reuses_its_working_memory()
    {
        (long allocated, List<int> ids) = AllocatedBytesOfASecondEncode(new string('x', 2000));
        Assert.Equal(0, allocated);
        Assert.Equal(new string('x', 2000), Gpt2.Decode(ids.ToArray()));
    }

    [Fact]
    public void Streaming_a_token_that_completes_no_character_allocates_nothing()
    {
        List<int> emoji = Gpt2.Encode("😀");
        using var decoder = new StreamingDecoder(Gpt2);
        decoder.Append(emoji[0]);
        decoder.Reset();

        long before = GC.GetAllocatedBytesForCurrentThread();
        string piece = decoder.Append(emoji[0]);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("", piece);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Streaming_a_token_of_whole_characters_allocates_nothing_and_shares_its_text()
    {
        int the = Gpt2.Encode(" the")[0];
        using var first = new StreamingDecoder(Gpt2);
        using var second = new StreamingDecoder(Gpt2);
        string warm = first.Append(the);

        long before = GC.GetAllocatedBytesForCurrentThread();
        string piece = second.Append(the);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(" the", piece);
        Assert.Same(warm, piece);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_character_split_across_tokens_still_streams_whole_after_shared_text()
    {
        // The emoji is several byte-level tokens that are not whole characters on their own: their bytes are held
        // back and go out with the token that completes the character, never as any token's shared text.
        List<int> ids = Gpt2.Encode("a😀b c");
        using var decoder = new StreamingDecoder(Gpt2);
        string streamed = string.Concat(ids.Select(decoder.Append)) + decoder.Flush();
        Assert.Equal("a😀b c", streamed);
        Assert.Contains(ids, id => !Gpt2.TryGetWholeText(id, out _));
    }

    /// <summary>Encodes twice into one list (the first run warms caches and pools); measures the second.</summary>
    private static (long Allocated, List<int> Ids) AllocatedBytesOfASecondEncode(string text)
    {
        var ids = new List<int>(text.Length);
        Gpt2.Encode(text.AsSpan(), ids);
        ids.Clear();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Gpt2.Encode(text.AsSpan(), ids);
        return (GC.GetAllocatedBytesForCurrentThread() - before, ids);
    }
}
