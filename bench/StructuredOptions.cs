namespace ChatCluster.Bench;

/// <summary>The structured-output bench: model, batch, reply length, interleaved rounds, where results go.</summary>
internal sealed record StructuredOptions(string Model, string OutputDirectory)
{
    /// <summary>Concurrent streams in the throughput rounds (every row constrained, or none).</summary>
    public int Batch { get; init; } = 32;

    /// <summary>max_tokens of each request in the throughput rounds.</summary>
    public int Tokens { get; init; } = 64;

    /// <summary>Measured rounds per variant; constrained and unconstrained rounds alternate.</summary>
    public int Rounds { get; init; } = 5;

    public double RoundSeconds { get; init; } = 3;

    /// <summary>A tokenizer.json whose vocabulary the compile and mask measurements use instead of the model's (e.g. a 50k one).</summary>
    public string? Tokenizer { get; init; }

    public string Command { get; init; } = "dotnet run -c Release --project bench -- structured";

    public static StructuredOptions Parse(string[] args)
    {
        var root = BenchOptions.FindRepositoryRoot();
        var o = new StructuredOptions(Path.Combine(root, "models", "chatcluster-tiny"), Path.Combine(root, "bench", "results", "structured"));
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--model" => o with { Model = Value() },
                "--out" => o with { OutputDirectory = Value() },
                "--batch" => o with { Batch = int.Parse(Value()) },
                "--tokens" => o with { Tokens = int.Parse(Value()) },
                "--rounds" => o with { Rounds = int.Parse(Value()) },
                "--tokenizer" => o with { Tokenizer = Value() },
                "--seconds" => o with { RoundSeconds = double.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"structured: unknown option {args[i]}"),
            };
        }

        return o with { Command = $"dotnet run -c Release --project bench -- structured {string.Join(' ', args)}".TrimEnd() };
    }
}
