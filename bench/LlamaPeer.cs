using System.Diagnostics;
using System.Text.Json.Nodes;

namespace ChatCluster.Bench;

/// <summary>
/// llama.cpp (LLamaSharp 0.30.0, CPU backend) as a peer: exports the model folder to GGUF with
/// training/gguf_export.py into the bench's temporary folder, builds bench/llama-peer and starts it there with the
/// bench's thread count. Variants: f32 or Q8_0 weights, each with llama.cpp's unified KV cache or one stream per
/// sequence (unified was ~2x slower in an earlier probe, so both are measured). The KV cache is llama.cpp's default
/// f16 for all: an f32 cache made its decode step ~5x slower at 16 sequences here (22 against 4.1 ms, bundled
/// model), a path no llama.cpp user would take.
/// </summary>
internal static class LlamaPeer
{
    /// <summary>Engine name, GGUF type, unified KV cache.</summary>
    public static readonly (string Name, string Type, bool Unified)[] Variants =
    [
        ("llamacpp-f32", "f32", false),
        ("llamacpp-q8", "q8_0", false),
        ("llamacpp-f32-unified", "f32", true),
        ("llamacpp-q8-unified", "q8_0", true),
    ];

    public static PeerProcess Start(string name, string modelDirectory, int threads, int maxSequences, string workDirectory)
    {
        var (_, type, unified) = Variants.Single(v => v.Name == name);
        var root = BenchOptions.FindRepositoryRoot();
        PeerBuild.Build(Path.Combine(root, "bench", "llama-peer", "LlamaPeer.csproj"));
        var gguf = Export(modelDirectory, type, workDirectory);
        var context = JsonNode.Parse(File.ReadAllText(Path.Combine(modelDirectory, "config.json")))!["n_positions"]!.GetValue<int>();
        return PeerProcess.Start(name, Path.Combine(root, "bench", "llama-peer", "bin", "Release", "net10.0", "ChatCluster.LlamaPeer"),
            [gguf, threads.ToString(), maxSequences.ToString(), context.ToString(), "f16", unified ? "1" : "0"],
            new Dictionary<string, string>());
    }

    /// <summary>The folder as a GGUF file of the given type (f32, q8_0) in the work folder, written once per run.</summary>
    public static string Export(string modelDirectory, string type, string workDirectory)
    {
        var file = Path.Combine(workDirectory, $"{Path.GetFileName(Path.GetDirectoryName(modelDirectory))}-{Path.GetFileName(modelDirectory)}.{type}.gguf");
        if (File.Exists(file))
        {
            return file;
        }

        var script = Path.Combine(BenchOptions.FindRepositoryRoot(), "training", "gguf_export.py");
        var start = new ProcessStartInfo("/usr/bin/python3", [script, modelDirectory, "--type", type, "--out", file])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start python3");
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? file : throw new InvalidOperationException($"gguf_export.py failed:\n{errors.Result}");
    }
}
