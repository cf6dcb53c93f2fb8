using System.Text.Json;
using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Tests.Tokenization;

/// <summary>
/// A hand-made byte-level tokenizer.json: the 256 byte tokens (ids 0..255, in byte order), then the given
/// tokens, and the given merges — small enough that a test can state exactly what BPE must produce.
/// </summary>
internal static class TinyTokenizerJson
{
    public static BpeTokenizer Load(string[] tokens, string[] merges, bool ignoreMerges = false, string normalizer = "null")
    {
        var vocab = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++)
            vocab[ByteLevelAlphabet.ToChar((byte)b).ToString()] = b;
        foreach (string token in tokens)
            vocab[token] = vocab.Count;
        string json = $$"""
            {
              "added_tokens": [],
              "normalizer": {{normalizer}},
              "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
              "model": {"type": "BPE", "ignore_merges": {{(ignoreMerges ? "true" : "false")}},
                        "vocab": {{JsonSerializer.Serialize(vocab)}}, "merges": {{JsonSerializer.Serialize(merges)}}}
            }
            """;
        return BpeTokenizer.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));
    }
}
