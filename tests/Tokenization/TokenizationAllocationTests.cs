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
        var ids = new List<int>(256);
        Gpt2.Encode(text.AsSpan(), ids);

        ids.Clear();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Gpt2.Encode(text.AsSpan(), ids);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(Gpt2.Encode(text), ids);
    }

    [Fact]
    public void Encoding_a_long_uncached_piece_reuses_its_working_memory()
    {
        string text = new string('x', 2000);
        var ids = new List<int>(2000);
        Gpt2.Encode(text.AsSpan(), ids);

        ids.Clear();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Gpt2.Encode(text.AsSpan(), ids);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
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
}
