using System.Text.Json;
using System.Text.Json.Nodes;

namespace ChatCluster.Bench;

/// <summary>
/// ONNX Runtime GenAI as a peer: builds bench/genai-peer (its own process: GenAI brings its own onnxruntime
/// native library), writes a genai_config.json for the model folder into a temporary copy of it (symlinks to
/// the model's files) and starts the peer there with ORT_DISABLE_TELEMETRY=1.
/// </summary>
internal static class GenAiPeer
{
    /// <summary>
    /// Starts the peer; <paramref name="spinning"/> false sets session.intra_op.allow_spinning=0 (as the engine does);
    /// <paramref name="fused"/> runs model.fused.onnx with past_present_share_buffer (GenAI's own layout for such graphs).
    /// </summary>
    public static PeerProcess Start(string modelDirectory, int threads, string workDirectory, bool spinning = true, bool fused = false)
    {
        var root = BenchOptions.FindRepositoryRoot();
        var project = Path.Combine(root, "bench", "genai-peer", "GenAiPeer.csproj");
        var output = Path.Combine(root, "bench", "genai-peer", "bin", "Release", "net10.0");
        PeerBuild.Build(project);
        var folder = WriteModelFolder(modelDirectory, threads, workDirectory, spinning, fused);
        var name = $"genai{(fused ? "-fused" : "")}{(spinning ? "" : "-nospin")}";
        return PeerProcess.Start(name, Path.Combine(output, "ChatCluster.GenAiPeer"), [folder],
            new Dictionary<string, string> { ["ORT_DISABLE_TELEMETRY"] = "1" });
    }

    /// <summary>
    /// A folder of symlinks to the model's files plus genai_config.json, built from config.json (geometry, ids)
    /// and generation_config.json (end tokens), with the graph's Optimum names. Search settings are the bench's
    /// (greedy; the peer sets lengths per request); intra-op threads are set explicitly.
    /// </summary>
    public static string WriteModelFolder(string modelDirectory, int threads, string workDirectory, bool spinning = true, bool fused = false)
    {
        var folder = Path.Combine(workDirectory,
            $"genai-{Path.GetFileName(Path.GetDirectoryName(modelDirectory))}-{Path.GetFileName(modelDirectory)}{(fused ? "-fused" : "")}{(spinning ? "" : "-nospin")}");
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        Directory.CreateDirectory(folder);
        foreach (var file in Directory.EnumerateFiles(modelDirectory))
        {
            File.CreateSymbolicLink(Path.Combine(folder, Path.GetFileName(file)), file);
        }

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(modelDirectory, "config.json")))!.AsObject();
        var generationPath = Path.Combine(modelDirectory, "generation_config.json");
        var generation = File.Exists(generationPath) ? JsonNode.Parse(File.ReadAllText(generationPath))!.AsObject() : new JsonObject();
        // GPT-2 names first, then Llama's (hidden_size, num_attention_heads, ...): both layouts export here.
        int Int(params string[] names) => names.Select(n => config[n]).FirstOrDefault(v => v is not null)?.GetValue<int>()
            ?? throw new InvalidDataException($"config.json of {modelDirectory} has no {string.Join(" or ", names)}");
        var embd = Int("n_embd", "hidden_size");
        var heads = Int("n_head", "num_attention_heads");
        var layers = Int("n_layer", "num_hidden_layers");
        var kvHeads = config["num_key_value_heads"]?.GetValue<int>() ?? heads;
        var headSize = config["head_dim"]?.GetValue<int>() ?? embd / heads;
        var genai = new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["type"] = "decoder",
                ["bos_token_id"] = (generation["bos_token_id"] ?? config["bos_token_id"])?.DeepClone(),
                ["eos_token_id"] = (generation["eos_token_id"] ?? config["eos_token_id"])?.DeepClone(),
                ["pad_token_id"] = (generation["pad_token_id"] ?? config["pad_token_id"])?.DeepClone(),
                ["context_length"] = Int("n_positions", "max_position_embeddings"),
                ["vocab_size"] = Int("vocab_size"),
                ["decoder"] = new JsonObject
                {
                    ["filename"] = fused ? "model.fused.onnx" : "model.onnx",
                    ["session_options"] = new JsonObject
                    {
                        ["intra_op_num_threads"] = threads,
                        ["inter_op_num_threads"] = 1,
                        ["log_id"] = "onnxruntime-genai",
                        ["provider_options"] = new JsonArray(),
                    },
                    ["head_size"] = headSize,
                    ["hidden_size"] = embd,
                    ["num_attention_heads"] = heads,
                    ["num_key_value_heads"] = kvHeads,
                    ["num_hidden_layers"] = layers,
                    ["inputs"] = new JsonObject
                    {
                        ["input_ids"] = "input_ids",
                        ["attention_mask"] = "attention_mask",
                        ["position_ids"] = "position_ids",
                        ["past_key_names"] = "past_key_values.%d.key",
                        ["past_value_names"] = "past_key_values.%d.value",
                    },
                    ["outputs"] = new JsonObject
                    {
                        ["logits"] = "logits",
                        ["present_key_names"] = "present.%d.key",
                        ["present_value_names"] = "present.%d.value",
                    },
                },
            },
            ["search"] = new JsonObject
            {
                ["do_sample"] = false,
                ["num_beams"] = 1,
                ["num_return_sequences"] = 1,
                ["max_length"] = Int("n_positions", "max_position_embeddings"),
                ["min_length"] = 0,
                ["past_present_share_buffer"] = fused,
                ["repetition_penalty"] = 1.0,
                ["temperature"] = 1.0,
                ["top_k"] = 1,
                ["top_p"] = 1.0,
            },
        };
        if (!spinning)
        {
            // GenAI passes session_options keys it does not know to SessionOptions.AddConfigEntry.
            genai["model"]!["decoder"]!["session_options"]!["session.intra_op.allow_spinning"] = "0";
        }

        File.WriteAllText(Path.Combine(folder, "genai_config.json"), genai.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return folder;
    }
}
