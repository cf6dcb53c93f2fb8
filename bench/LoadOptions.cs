using System.Globalization;

namespace ChatCluster.Bench;

/// <summary>
/// What the load mode runs: silos started on one Redis, concurrent streaming clients for a while, each keeping
/// a conversation for a few turns, and how often the silos' memory is sampled. <see cref="SiloEnvironment"/>
/// (--silo-env KEY=VALUE) goes to the silos only, to compare runtime knobs; <see cref="Label"/> names such a
/// run's files apart from the plain run's.
/// </summary>
internal sealed record LoadOptions(
    int Silos,
    int Clients,
    double Minutes,
    int TurnsPerConversation,
    int Tokens,
    int SampleSeconds,
    string Model,
    string OutputDirectory,
    IReadOnlyDictionary<string, string> SiloEnvironment,
    string? Label,
    string Command)
{
    /// <summary>load-1silo, load-3silo-conserve7, ...: the name of the report's files.</summary>
    public string ReportName => $"load-{Silos}silo" + (Label is null ? "" : $"-{Label}");

    public static LoadOptions Parse(string[] args)
    {
        var root = BenchOptions.FindRepositoryRoot();
        var command = string.Join(' ', ["dotnet run -c Release --project bench -- load", .. args.Select(HttpBenchOptions.Quote)]);
        var o = new LoadOptions(1, 64, 3, 3, 32, 5, Path.Combine(root, "models", "chatcluster-tiny"),
            Path.Combine(root, "bench", "results"), new Dictionary<string, string>(), null, command);
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--silos" => o with { Silos = HttpBenchOptions.Positive("--silos", Value()) },
                "--clients" => o with { Clients = HttpBenchOptions.Positive("--clients", Value()) },
                "--minutes" => o with { Minutes = PositiveNumber("--minutes", Value()) },
                "--turns-per-conversation" => o with { TurnsPerConversation = HttpBenchOptions.Positive("--turns-per-conversation", Value()) },
                "--tokens" => o with { Tokens = HttpBenchOptions.Positive("--tokens", Value()) },
                "--sample-seconds" => o with { SampleSeconds = HttpBenchOptions.Positive("--sample-seconds", Value()) },
                "--model" => o with { Model = Path.GetFullPath(Value()) },
                "--out" => o with { OutputDirectory = Path.GetFullPath(Value()) },
                "--silo-env" => o with { SiloEnvironment = WithVariable(o.SiloEnvironment, Value()) },
                "--label" => o with { Label = FileSafe(Value()) },
                _ => throw new ArgumentException($"load: unknown option {args[i]}"),
            };
        }

        return o;
    }

    private static double PositiveNumber(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name} must be a positive number, not '{value}'");

    internal static Dictionary<string, string> WithVariable(IReadOnlyDictionary<string, string> environment, string text) =>
        text.Split('=', 2) is [var key, var value] && key.Length > 0
            ? new Dictionary<string, string>(environment) { [key] = value }
            : throw new ArgumentException($"--silo-env {text}: expected KEY=VALUE");

    private static string FileSafe(string label) =>
        label.Length > 0 && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? label
            : throw new ArgumentException($"--label {label}: letters, digits, - and _ only (it names files)");
}
