using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Tests.Tokenization;

/// <summary>The merge loop on vocabularies small enough to state the answer by hand.</summary>
public sealed class BpeMergeTests
{
    [Fact]
    public void The_lowest_rank_merges_first()
    {
        // "b c" ranks before "a b", so "abc" is a + bc, not ab + c.
        BpeTokenizer tokenizer = TinyTokenizerJson.Load(["ab", "bc"], ["b c", "a b"]);
        Assert.Equal(['a', 257], tokenizer.Encode("abc"));
    }

    [Fact]
    public void Equal_ranks_merge_leftmost_first()
    {
        BpeTokenizer tokenizer = TinyTokenizerJson.Load(["aa"], ["a a"]);
        Assert.Equal([256, 'a'], tokenizer.Encode("aaa"));
        Assert.Equal([256, 256], tokenizer.Encode("aaaa"));
    }

    [Fact]
    public void Merged_tokens_merge_again()
    {
        BpeTokenizer tokenizer = TinyTokenizerJson.Load(["ab", "abab", "ababab"], ["a b", "ab ab", "abab ab"]);
        Assert.Equal([258], tokenizer.Encode("ababab"));
        Assert.Equal([257, 'a'], tokenizer.Encode("ababa"));
    }

    [Fact]
    public void Ignore_merges_takes_a_piece_that_is_a_token_whole()
    {
        // "abc" is in the vocabulary but no merge builds it: only ignore_merges (Llama 3) reaches it.
        string[] tokens = ["ab", "abc"];
        string[] merges = ["a b"];
        Assert.Equal([256, 'c'], TinyTokenizerJson.Load(tokens, merges).Encode("abc"));
        Assert.Equal([257], TinyTokenizerJson.Load(tokens, merges, ignoreMerges: true).Encode("abc"));
        Assert.Equal([256, 'd'], TinyTokenizerJson.Load(tokens, merges, ignoreMerges: true).Encode("abd"));
    }

    [Fact]
    public void A_normalizer_is_refused_rather_than_ignored()
    {
        var error = Assert.Throws<InvalidDataException>(() => TinyTokenizerJson.Load([], [], normalizer: """{"type": "NFC"}"""));
        Assert.Contains("NFC", error.Message);
    }
}
