using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>The http and cluster modes' table: on the console, and as markdown and JSON with the machine and the exact command.</summary>
internal sealed class HttpReport(HttpBenchOptions options, string setup, IReadOnlyList<TargetSummary> targets)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // A round where every turn failed has 0 tokens/s, and a ratio against it is infinite: write it, don't throw.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private string FirstName => targets[0].Name;

    public void Print()
    {
        var table = new Table().AddColumns("target", "tok/s", "min-max", $"x {Markup.Escape(FirstName)}", "TTFT p50/mean/p99", "ITL p50/p99", "errors");
        foreach (var t in targets)
        {
            AnsiConsole.MarkupLine($"  {Markup.Escape(t.Name)}: {Markup.Escape(t.Route)}");
            table.AddRow(Markup.Escape(t.Name), $"{t.TokensPerSecond.Median:F0}",
                $"{t.TokensPerSecond.Min:F0}-{t.TokensPerSecond.Max:F0}", Ratio(t), $"{t.TtftP50Ms:F0}/{t.TtftMeanMs:F0}/{t.TtftP99Ms:F0} ms",
                $"{t.ItlP50Ms:F1}/{t.ItlP99Ms:F1} ms", Errors(t));
        }

        AnsiConsole.Write(table);
    }

    public async Task WriteAsync(string name)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        var json = JsonSerializer.Serialize(new
        {
            machine = MachineInfo.Line,
            command = options.Command,
            setup,
            model = Path.GetFileName(options.Model),
            streams = options.Streams,
            tokens = options.Tokens,
            warm_up_rounds = options.WarmUpRounds,
            rounds = options.Rounds,
            targets,
        }, Json);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, name + ".json"), json);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, name + ".md"), Markdown());
    }

    private string Markdown()
    {
        var md = new StringBuilder($"Machine: {MachineInfo.Line}\n\nCommand: `{options.Command}`\n\n");
        md.Append($"{setup}. Model {Path.GetFileName(options.Model)}. Each round: {options.Streams} concurrent clients for {options.Seconds} s, each " +
            $"creating a conversation and streaming one turn of {options.Tokens} tokens (end tokens banned), again and again. {options.Rounds} measured round(s) after {options.WarmUpRounds} " +
            "warm-up round(s), each round running every target in turn. tokens/s: sum of completion tokens over the round's wall time, median and " +
            $"min-max over rounds; x {FirstName}: ratio to {FirstName} computed round by round, median and min-max; TTFT and ITL " +
            "(gap between delta events) percentiles over all measured turns.\n\n");
        md.Append($"| target | route | tokens/s median (min-max) | x {FirstName}, median (min-max) | TTFT p50 / mean / p99 ms | ITL p50 / p99 ms | errors |\n");
        md.Append("|---|---|---|---|---|---|---|\n");
        foreach (var t in targets)
        {
            md.Append($"| {t.Name} | {t.Route} | {t.TokensPerSecond.Median:F0} ({t.TokensPerSecond.Min:F0}-{t.TokensPerSecond.Max:F0}) | {Ratio(t)} | " +
                $"{t.TtftP50Ms:F1} / {t.TtftMeanMs:F1} / {t.TtftP99Ms:F1} | {t.ItlP50Ms:F2} / {t.ItlP99Ms:F2} | {Errors(t)} |\n");
        }

        md.Append("\nPer round:\n\n| round | target | tokens/s | wall s | TTFT p50 / p99 ms | ITL p50 / p99 ms | errors |\n|---|---|---|---|---|---|---|\n");
        for (var r = 0; r < options.Rounds; r++)
        {
            foreach (var t in targets)
            {
                var round = t.Rounds[r];
                md.Append($"| {r + 1} | {t.Name} | {round.TokensPerSecond:F0} | {round.WallSeconds:F2} | {round.TtftP50Ms:F1} / {round.TtftP99Ms:F1} | " +
                    $"{round.ItlP50Ms:F2} / {round.ItlP99Ms:F2} | {round.Errors} |\n");
            }
        }

        return md.ToString();
    }

    private static string Ratio(TargetSummary t) =>
        t.RatioToFirst is { } r ? $"{r.Median:F2} ({r.Min:F2}-{r.Max:F2})" : "-";

    private static string Errors(TargetSummary t) =>
        t.WarmUpErrors > 0 ? $"{t.Errors} (+{t.WarmUpErrors} in warm-up)" : $"{t.Errors}";
}
