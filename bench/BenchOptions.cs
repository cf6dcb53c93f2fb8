namespace ChatCluster.Bench;

/// <summary>What to measure: the model, concurrency levels, prompt and reply lengths, conversation turns.</summary>
internal sealed record BenchOptions(
    string Model,
    int[] Concurrency,
    int PromptTokens,
    int GeneratedTokens,
    int Turns,
    bool RunPeer,
    string OutputDirectory)
{
    public static BenchOptions Parse(string[] args)
    {
        var root = FindRepositoryRoot();
        var o = new BenchOptions(Path.Combine(root, "models", "chatcluster-tiny"), [1, 2, 4, 8, 16, 32], 32, 64, 10, true,
            Path.Combine(root, "bench", "results"));
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--model" => o with { Model = Path.GetFullPath(Value()) },
                "--concurrency" => o with { Concurrency = Value().Split(',').Select(int.Parse).ToArray() },
                "--prompt" => o with { PromptTokens = int.Parse(Value()) },
                "--tokens" => o with { GeneratedTokens = int.Parse(Value()) },
                "--turns" => o with { Turns = int.Parse(Value()) },
                "--no-peer" => o with { RunPeer = false },
                "--out" => o with { OutputDirectory = Path.GetFullPath(Value()) },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }

        return o;
    }

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
