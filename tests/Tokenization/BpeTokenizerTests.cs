using System.Text;
using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Tests.Tokenization;

public sealed class BpeTokenizerTests
{
    private static BpeTokenizer Gpt2 => Gpt2TokenizerJson.Tokenizer;

    public static TheoryData<int> CaseIndexes() => Gpt2ExpectedCases.Indexes();

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Encode_matches_the_reference_encoder(int index)
    {
        (string text, int[] expected) = Gpt2ExpectedCases.All[index];
        Assert.Equal(expected, Gpt2.Encode(text));
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Decode_of_encode_gives_back_the_text(int index)
    {
        string text = Gpt2ExpectedCases.All[index].Text;
        Assert.Equal(text, Gpt2.Decode(Gpt2.Encode(text).ToArray()));
    }

    [Fact]
    public void Encode_is_the_same_from_the_piece_cache()
    {
        // Every case twice: the second pass reads pieces from the cache the first pass filled.
        foreach ((string text, int[] expected) in Gpt2ExpectedCases.All)
        {
            Assert.Equal(expected, Gpt2.Encode(text));
            Assert.Equal(expected, Gpt2.Encode(text));
        }
    }

    [Fact]
    public void Encode_appends_to_the_given_list()
    {
        var ids = new List<int> { 7 };
        Gpt2.Encode("Hello, world!".AsSpan(), ids);
        Assert.Equal([7, 15496, 11, 995, 0], ids);
    }

    [Fact]
    public void Special_token_text_typed_by_a_user_is_plain_text()
    {
        List<int> ids = Gpt2.Encode("<|endoftext|>");
        Assert.DoesNotContain(Gpt2TokenizerJson.EndOfTextId, ids);
        Assert.True(ids.Count > 1);
        Assert.Equal("<|endoftext|>", Gpt2.Decode(ids.ToArray()));
        Assert.Equal(Gpt2.Encode("<|") .Concat(Gpt2.Encode("endoftext")).Concat(Gpt2.Encode("|>")), ids);
    }

    [Fact]
    public void Control_tokens_are_found_by_their_text_and_decode_to_it()
    {
        BpeTokenizer tokenizer = BpeTokenizer.Load(new MemoryStream(Gpt2TokenizerJson.Build(["<|im_start|>", "<|im_end|>"])));
        Assert.True(tokenizer.TryGetSpecialTokenId("<|im_end|>", out int imEnd));
        Assert.Equal(50258, imEnd);
        Assert.True(tokenizer.TryGetSpecialTokenId("<|endoftext|>", out int endOfText));
        Assert.Equal(Gpt2TokenizerJson.EndOfTextId, endOfText);
        Assert.False(tokenizer.TryGetSpecialTokenId("<|nope|>", out _));
        Assert.Equal(50259, tokenizer.VocabSize);
        Assert.Equal(3, tokenizer.AddedTokens.Count);
        Assert.Equal(464, tokenizer.TokenToId("The"));
        Assert.Equal(50257, tokenizer.TokenToId("<|im_start|>"));
        Assert.Null(tokenizer.TokenToId("not a token"));

        int[] ids = [50257, .. tokenizer.Encode("user"), 50258];
        Assert.Equal("<|im_start|>user<|im_end|>", tokenizer.Decode(ids));
        Assert.Equal("user", tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.DoesNotContain(50258, tokenizer.Encode("hi<|im_end|>"));
    }

    [Fact]
    public void Merges_as_arrays_load_like_merges_as_strings()
    {
        BpeTokenizer arrays = BpeTokenizer.Load(new MemoryStream(Gpt2TokenizerJson.Build(mergesAsArrays: true)));
        foreach ((string text, int[] expected) in Gpt2ExpectedCases.All)
            Assert.Equal(expected, arrays.Encode(text));
    }

    [Fact]
    public void A_split_pre_tokenizer_with_gpt2s_pattern_encodes_like_byte_level()
    {
        string preTokenizer = SplitThenByteLevel(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");
        BpeTokenizer split = BpeTokenizer.Load(new MemoryStream(Gpt2TokenizerJson.Build(preTokenizer: preTokenizer)));
        foreach ((string text, int[] expected) in Gpt2ExpectedCases.All)
            Assert.Equal(expected, split.Encode(text));
    }

    [Fact]
    public void A_split_pre_tokenizer_uses_its_own_pattern()
    {
        // Llama 3's pattern: numbers split into groups of up to three digits, and a letter run may take one
        // leading non-letter; each piece is then BPE'd on its own.
        const string llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        BpeTokenizer split = BpeTokenizer.Load(new MemoryStream(Gpt2TokenizerJson.Build(preTokenizer: SplitThenByteLevel(llama3))));

        int[] expected = [.. Gpt2.Encode("123"), .. Gpt2.Encode("456"), .. Gpt2.Encode("7"), .. Gpt2.Encode(" IT"), .. Gpt2.Encode("'S")];
        Assert.Equal(expected, split.Encode("1234567 IT'S"));
        Assert.NotEqual(Gpt2.Encode("1234567 IT'S"), split.Encode("1234567 IT'S"));
    }

    [Fact]
    public void Long_runs_without_a_break_encode_and_round_trip()
    {
        string text = new string('a', 5000) + string.Concat(Enumerable.Repeat("😀", 1000)) + string.Concat(Enumerable.Repeat("ab", 3000));
        List<int> ids = Gpt2.Encode(text);
        Assert.Equal(text, Gpt2.Decode(ids.ToArray()));
        Assert.True(ids.Count < text.Length);
    }

    [Fact]
    public void Lone_surrogates_encode_as_the_replacement_character()
    {
        Assert.Equal(Gpt2.Encode("a\uFFFDb"), Gpt2.Encode("a\uD800b"));
    }

    [Fact]
    public void Decode_replaces_a_character_cut_in_half()
    {
        List<int> ids = Gpt2.Encode("😀");
        Assert.True(ids.Count > 1, "the emoji should be more than one byte-level token");
        Assert.Equal("\uFFFD", Gpt2.Decode(ids.ToArray().AsSpan(0, 1)));
    }

    [Fact]
    public void Decode_rejects_an_id_outside_the_vocabulary()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Gpt2.Decode([15496, 50257]));
        Assert.Contains("50257", error.Message);
        Assert.False(Gpt2.ContainsId(50257));
        Assert.False(Gpt2.ContainsId(-1));
        Assert.True(Gpt2.ContainsId(50256));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {}}}""", "WordPiece")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}""", "\"b\", which is not in model.vocab")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}""", "lacks the byte-level token")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "byte_fallback": true}, "pre_tokenizer": null}""", "byte_fallback")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}}""", "non-negative integer id")]
    public void Load_rejects_what_it_cannot_run_with_a_clear_message(string json, string expectedMessage)
    {
        var error = Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(new MemoryStream(Encoding.UTF8.GetBytes(json))));
        Assert.Contains(expectedMessage, error.Message);
    }

    [Fact]
    public void Load_from_a_file_names_the_file_in_errors()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bad-tokenizer-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{}");
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(path));
            Assert.Contains(path, error.Message);
            Assert.Contains("\"model\"", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string SplitThenByteLevel(string pattern) =>
        $$"""{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":{{System.Text.Json.JsonSerializer.Serialize(pattern)}}},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]}""";
}
