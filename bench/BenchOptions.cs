namespace ChatCluster.Bench;

/// <summary>
/// What to measure: the models, concurrency levels, prompt and reply lengths, which engines, how the rounds
/// interleave (warm-up and measured rounds of a few seconds each), threads, conversation turns.
/// </summary>
internal sealed record BenchOptions(
    string Model,
    int[] Concurrency,
    int PromptTokens,
    int GeneratedTokens,
    int Turns,
    bool RunPeer,
    string OutputDirectory)
{
    /// <summary>Every model folder to measure, in order; <see cref="Model"/> is the first (the conversation benchmark's).</summary>
    public string[] Models { get; init; } = [Model];

    /// <summary>
    /// Engines measured side by side: chatcluster (in this process), chatcluster-spin (the same with ONNX Runtime's
    /// spinning intra-op threads, in this process too), chatcluster-fused and chatcluster-fused-spin (the engine on
    /// the folder's model.fused.onnx; -1t: one intra-op thread, the calling one, whatever --threads says), genai, genai-nospin (GenAI with allow_spinning=0, as the engine),
    /// genai-fused and genai-fused-nospin (GenAI on model.fused.onnx with past_present_share_buffer), pytorch, and
    /// llama.cpp on a GGUF export of the same weights: llamacpp-f32, llamacpp-q8 (Q8_0), and -unified for each (child
    /// processes); chatcluster-fused-int8 runs model.fused.int8.onnx (training/fused_graph.py --quantize int8).
    /// </summary>
    public string[] Engines { get; init; } = ["chatcluster", "genai", "pytorch"];

    /// <summary>Measured rounds per level and engine; rounds of the engines alternate (A B C A B C ...).</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>Unmeasured rounds per level and engine before the measured ones (JIT, buffer growth, caches).</summary>
    public int WarmUpRounds { get; init; } = 1;

    /// <summary>A round repeats the level's batch of requests until this much time has passed.</summary>
    public double RoundSeconds { get; init; } = 2;

    /// <summary>Where the engine runs its model (--device cpu|cuda; cuda needs the build's -p:OnnxRuntimeGpu=true).</summary>
    public ChatCluster.Inference.Model.ExecutionDevice Device { get; init; } = ChatCluster.Inference.Model.ExecutionDevice.Cpu;

    /// <summary>ONNX Runtime intra-op threads (torch threads for PyTorch), the same for every engine.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// PyTorch runs only at levels up to this, per model in order (the last value for the rest): its rounds on a
    /// larger model take minutes.
    /// </summary>
    public int[] PyTorchMaxConcurrency { get; init; } = [int.MaxValue];

    /// <summary>
    /// Adds the memory-bound section: each engine's batch-1 decode step against the bytes it must read and this
    /// machine's measured read bandwidth (--memory-bound).
    /// </summary>
    public bool MemoryBound { get; init; }

    /// <summary>The command line, for the report.</summary>
    public string Command { get; init; } = "dotnet run -c Release --project bench";

    public static BenchOptions Parse(string[] args)
    {
        var root = FindRepositoryRoot();
        var o = new BenchOptions(Path.Combine(root, "models", "chatcluster-tiny"), [1, 4, 16, 32], 32, 64, 10, true,
            Path.Combine(root, "bench", "results"));
        var models = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model":
                    models.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Path.GetFullPath));
                    break;
                default:
                    o = args[i] switch
                    {
                        "--concurrency" => o with { Concurrency = Value().Split(',').Select(int.Parse).ToArray() },
                        "--prompt" => o with { PromptTokens = int.Parse(Value()) },
                        "--tokens" => o with { GeneratedTokens = int.Parse(Value()) },
                        "--turns" => o with { Turns = int.Parse(Value()) },
                        "--no-peer" => o with { RunPeer = false, Engines = ["chatcluster"] },
                        "--engines" => o with { Engines = Value().Split(',') },
                        "--rounds" => o with { Rounds = Math.Max(1, int.Parse(Value())) },
                        "--warmup" => o with { WarmUpRounds = int.Parse(Value()) },
                        "--seconds" => o with { RoundSeconds = double.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) },
                        "--threads" => o with { Threads = int.Parse(Value()) },
                        "--device" => o with { Device = ChatCluster.Inference.Model.ExecutionDevice.Parse(Value()) },
                        "--pytorch-max" => o with { PyTorchMaxConcurrency = Value().Split(',').Select(int.Parse).ToArray() },
                        "--memory-bound" => o with { MemoryBound = true },
                        "--out" => o with { OutputDirectory = Path.GetFullPath(Value()) },
                        _ => throw new ArgumentException($"unknown option {args[i]}"),
                    };
                    break;
            }
        }

        if (models.Count > 0)
        {
            o = o with { Model = models[0], Models = [.. models] };
        }

        var unknown = o.Engines.Except(KnownEngines).ToList();
        if (unknown.Count > 0 || !o.Engines.Contains("chatcluster"))
        {
            throw new ArgumentException($"--engines takes chatcluster (always), {string.Join(", ", KnownEngines.Skip(1))}; not {string.Join(',', unknown)}");
        }

        return o with { RunPeer = o.Engines.Length > 1, Command = string.Join(' ', ["dotnet run -c Release --project bench --", .. args]) };
    }

    private static readonly string[] KnownEngines =
        ["chatcluster", "chatcluster-spin", "chatcluster-fused", "chatcluster-fused-spin", "chatcluster-fused-1t", "genai", "genai-nospin", "genai-fused", "genai-fused-nospin", "pytorch",
         "chatcluster-fused-int8", .. LlamaPeer.Variants.Select(v => v.Name)];

    public static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
