namespace ChatCluster.Bench;

/// <summary>
/// What the http and cluster modes measure: the servers (targets), concurrent streams per round, reply length,
/// warm-up and measured rounds, and the model the servers run (for its end tokens and context window).
/// </summary>
internal sealed record HttpBenchOptions(
    IReadOnlyList<HttpTarget> Targets,
    int Streams,
    int Tokens,
    int WarmUpRounds,
    int Rounds,
    int Seconds,
    string Model,
    string OutputDirectory,
    string Command)
{
    /// <summary>Each measured turn is a conversation's second (its first runs untimed before it): the roles mode's cache phase.</summary>
    public bool SecondTurns { get; init; }

    /// <summary>With <see cref="SecondTurns"/>: sentences (about 12 tokens each) of the untimed first turn's message; 0: the usual message.</summary>
    public int OpeningSentences { get; init; }

    /// <summary>The roles mode's phases to run: hop, cache, or both (the default).</summary>
    public IReadOnlyList<string> Phases { get; init; } = ["hop", "cache"];

    /// <summary>Parses the options after the mode word; only the http mode takes --target (cluster makes its own).</summary>
    public static HttpBenchOptions Parse(string mode, string[] args)
    {
        var root = BenchOptions.FindRepositoryRoot();
        var command = string.Join(' ', ["dotnet run -c Release --project bench --", mode, .. args.Select(Quote)]);
        var o = new HttpBenchOptions([], 16, 64, 1, 5, 5, Path.Combine(root, "models", "chatcluster-tiny"),
            Path.Combine(root, "bench", "results"), command);
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--target" when mode == "http" => o with { Targets = [.. o.Targets, HttpTarget.Parse(Value())] },
                "--streams" => o with { Streams = Positive("--streams", Value()) },
                "--tokens" => o with { Tokens = Positive("--tokens", Value()) },
                "--warmup" => o with { WarmUpRounds = Positive("--warmup", Value()) },
                "--rounds" => o with { Rounds = Positive("--rounds", Value()) },
                "--seconds" => o with { Seconds = Positive("--seconds", Value()) },
                "--model" => o with { Model = Path.GetFullPath(Value()) },
                "--out" => o with { OutputDirectory = Path.GetFullPath(Value()) },
                "--opening" when mode == "roles" => o with { OpeningSentences = Positive("--opening", Value()) },
                "--phase" when mode == "roles" => o with { Phases = Value().Split(',') is var p && p.All(x => x is "hop" or "cache") ? p : throw new ArgumentException("--phase: hop, cache, or hop,cache") },
                _ => throw new ArgumentException($"{mode}: unknown option {args[i]}"),
            };
        }

        if (mode == "http" && o.Targets.Count == 0)
        {
            throw new ArgumentException("http: give at least one --target NAME=CREATE_URL[,SEND_URL]");
        }

        if (o.Targets.Select(t => t.Name).Distinct().Count() != o.Targets.Count)
        {
            throw new ArgumentException("http: target names must differ");
        }

        return o;
    }

    internal static int Positive(string name, string value) =>
        int.TryParse(value, out var n) && n > 0 ? n : throw new ArgumentException($"{name} must be a positive integer, not '{value}'");

    internal static string Quote(string arg) => arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_=,:/.@".Contains(c)) ? arg : $"'{arg}'";
}
