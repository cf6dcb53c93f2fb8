namespace ChatCluster.Bench;

/// <summary>
/// What the stack mode measures: the concurrency levels, reply length, warm-up and measured rounds of each level,
/// the round window, the batch size given to both the in-process engine and the silos, and the model; --silo-env
/// KEY=VALUE goes to the silos only (DOTNET_PerfMapEnabled=1 for a perf profile of a silo); --no-genai leaves out the
/// ONNX Runtime GenAI target; --spin lets the intra-op threads of both the engine and the silos spin (the silos'
/// --intra-op-spinning on), as a node whose cores do nothing else would run.
/// </summary>
internal sealed record StackOptions(
    IReadOnlyList<int> Levels,
    int Tokens,
    int WarmUpRounds,
    int Rounds,
    int Seconds,
    int MaxBatch,
    IReadOnlyDictionary<string, string> SiloEnvironment,
    string Model,
    string OutputDirectory,
    string Command,
    bool GenAi = true,
    bool Spin = false)
{
    public static StackOptions Parse(string[] args)
    {
        var root = BenchOptions.FindRepositoryRoot();
        var command = string.Join(' ', ["dotnet run -c Release --project bench -- stack", .. args.Select(HttpBenchOptions.Quote)]);
        var o = new StackOptions([1, 16, 64], 64, 2, 5, 5, 32, new Dictionary<string, string>(), Path.Combine(root, "models", "chatcluster-tiny"),
            Path.Combine(root, "bench", "results"), command);
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--streams" => o with { Levels = [.. Value().Split(',').Select(v => HttpBenchOptions.Positive("--streams", v))] },
                "--tokens" => o with { Tokens = HttpBenchOptions.Positive("--tokens", Value()) },
                "--warmup" => o with { WarmUpRounds = HttpBenchOptions.Positive("--warmup", Value()) },
                "--rounds" => o with { Rounds = HttpBenchOptions.Positive("--rounds", Value()) },
                "--seconds" => o with { Seconds = HttpBenchOptions.Positive("--seconds", Value()) },
                "--max-batch" => o with { MaxBatch = HttpBenchOptions.Positive("--max-batch", Value()) },
                "--silo-env" => o with { SiloEnvironment = LoadOptions.WithVariable(o.SiloEnvironment, Value()) },
                "--model" => o with { Model = Path.GetFullPath(Value()) },
                "--out" => o with { OutputDirectory = Path.GetFullPath(Value()) },
                "--no-genai" => o with { GenAi = false },
                "--spin" => o with { Spin = true },
                _ => throw new ArgumentException($"stack: unknown option {args[i]}"),
            };
        }

        return o;
    }
}
