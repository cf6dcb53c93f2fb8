using System.Text.Json;
using System.Text.Json.Nodes;

namespace ChatCluster.Inference.Model;

/// <summary>
/// What the engine needs from a model folder's config.json and generation_config.json (Hugging Face
/// schemas; GPT-2, Llama and Qwen field names are all read).
/// </summary>
public sealed record ModelConfig(string Id, string Directory, int ContextWindow, int VocabSize, IReadOnlyList<int> EndTokenIds)
{
    public static ModelConfig Load(string directory)
    {
        var full = Path.GetFullPath(directory);
        var config = ReadJson(Path.Combine(full, "config.json"))
            ?? throw new FileNotFoundException($"The model folder '{full}' has no config.json.");
        var generation = ReadJson(Path.Combine(full, "generation_config.json"));

        var window = IntOf(config, "n_positions") ?? IntOf(config, "max_position_embeddings") ?? IntOf(config, "n_ctx")
            ?? throw new InvalidDataException($"{full}/config.json names no context window (n_positions or max_position_embeddings).");
        var vocab = IntOf(config, "vocab_size")
            ?? throw new InvalidDataException($"{full}/config.json has no vocab_size.");

        // generation_config.json's eos_token_id wins over config.json's; either may be a number or a list.
        var ends = IdsOf(generation, "eos_token_id");
        if (ends.Count == 0)
        {
            ends = IdsOf(config, "eos_token_id");
        }

        return new ModelConfig(Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)), full, window, vocab, ends);
    }

    private static JsonObject? ReadJson(string path) =>
        File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject : null;

    private static int? IntOf(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;

    private static List<int> IdsOf(JsonObject? obj, string name)
    {
        var ids = new List<int>();
        switch (obj?[name])
        {
            case JsonValue v when v.TryGetValue<int>(out var id):
                ids.Add(id);
                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    if (item is JsonValue iv && iv.TryGetValue<int>(out var each))
                    {
                        ids.Add(each);
                    }
                }

                break;
            case null:
                break;
            default:
                throw new InvalidDataException($"'{name}' must be a token id or a list of ids, not {obj![name]!.ToJsonString(new JsonSerializerOptions())}.");
        }

        return ids;
    }
}
