using System.Text;
using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Tests.Tokenization;

public sealed class StreamingDecoderTests
{
    private static BpeTokenizer Gpt2 => Gpt2TokenizerJson.Tokenizer;

    [Fact]
    public void A_character_split_across_tokens_is_emitted_once_whole()
    {
        List<int> ids = Gpt2.Encode("😀");
        Assert.True(ids.Count > 1, "GPT-2 spells this emoji with more than one token");
        using var decoder = new StreamingDecoder(Gpt2);
        for (int i = 0; i < ids.Count - 1; i++)
            Assert.Equal("", decoder.Append(ids[i]));
        Assert.Equal("😀", decoder.Append(ids[^1]));
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void Single_byte_tokens_of_a_family_emoji_emit_nothing_until_each_character_is_whole()
    {
        // Feed the ZWJ sequence one byte-level token per byte: every character needs all of its bytes.
        string text = "a👨‍👩‍👧b";
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        using var decoder = new StreamingDecoder(Gpt2);
        var emitted = new StringBuilder();
        int position = 0;
        foreach (Rune rune in text.EnumerateRunes())
        {
            int length = rune.Utf8SequenceLength;
            for (int i = 0; i < length - 1; i++)
                Assert.Equal("", decoder.Append(ByteToken(utf8[position + i])));
            Assert.Equal(rune.ToString(), decoder.Append(ByteToken(utf8[position + length - 1])));
            emitted.Append(rune.ToString());
            position += length;
        }
        Assert.Equal(text, emitted.ToString());
    }

    [Theory]
    [MemberData(nameof(BpeTokenizerTests.CaseIndexes), MemberType = typeof(BpeTokenizerTests))]
    public void Streamed_pieces_concatenate_to_the_whole_decode(int index)
    {
        int[] ids = Gpt2ExpectedCases.All[index].Ids;
        using var decoder = new StreamingDecoder(Gpt2);
        var streamed = new StringBuilder();
        foreach (int id in ids)
        {
            string piece = decoder.Append(id);
            Assert.False(piece.Length > 0 && char.IsHighSurrogate(piece[^1]), "a piece ended with half a surrogate pair");
            streamed.Append(piece);
        }
        streamed.Append(decoder.Flush());
        Assert.Equal(Gpt2.Decode(ids), streamed.ToString());
    }

    [Fact]
    public void Flush_replaces_an_unfinished_character_and_reset_forgets_it()
    {
        List<int> ids = Gpt2.Encode("😀");
        using var decoder = new StreamingDecoder(Gpt2);
        Assert.Equal("", decoder.Append(ids[0]));
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("", decoder.Flush());

        Assert.Equal("", decoder.Append(ids[0]));
        decoder.Reset();
        Assert.Equal("Hello", decoder.Append(Gpt2.Encode("Hello")[0]));
    }

    [Fact]
    public void Special_tokens_stream_as_their_text_or_are_skipped()
    {
        using var keeping = new StreamingDecoder(Gpt2);
        Assert.Equal("<|endoftext|>", keeping.Append(Gpt2TokenizerJson.EndOfTextId));
        using var skipping = new StreamingDecoder(Gpt2, skipSpecialTokens: true);
        Assert.Equal("", skipping.Append(Gpt2TokenizerJson.EndOfTextId));
    }

    [Fact]
    public void A_token_longer_than_the_initial_buffer_is_emitted_whole()
    {
        string longControl = "<|" + new string('x', 300) + "|>";
        BpeTokenizer tokenizer = BpeTokenizer.Load(new MemoryStream(Gpt2TokenizerJson.Build([longControl])));
        List<int> emoji = tokenizer.Encode("😀");
        using var decoder = new StreamingDecoder(tokenizer);
        Assert.Equal("", decoder.Append(emoji[0]));
        Assert.Equal("\uFFFD" + longControl, decoder.Append(50257));
    }

    private static int ByteToken(byte value)
    {
        // The byte-level vocabulary spells each byte as one character (see ByteLevelAlphabet).
        int id = Gpt2.TokenToId(ByteLevelAlphabet.ToChar(value).ToString()) ?? throw new InvalidOperationException($"no token for byte {value}");
        Assert.Equal([value], Gpt2.TokenBytes(id).ToArray());
        return id;
    }
}
