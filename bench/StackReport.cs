using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>The stack mode's tables: on the console, and as markdown and JSON with the machine, command, commit and model.</summary>
internal sealed class StackReport(StackOptions options, string setup, string modelHash, string commit, IReadOnlyList<StackLevel> levels)
{
    public const string Name = "stack-vs-engine";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // A round where every turn failed has 0 tokens/s, and a ratio against it is infinite: write it, don't throw.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public void Print()
    {
        var table = new Table().AddColumns("streams", "target", "tok/s", "min-max", "x engine", "tok/CPU-s", "x engine", "x GenAI", "TTFT p50/p99", "ITL p50/p99", "cores bench/A/B/GenAI/machine", "errors");
        foreach (var level in levels)
        {
            foreach (var t in level.Targets)
            {
                table.AddRow($"{level.Streams}", t.Name, $"{t.TokensPerSecond.Median:F0}", $"{t.TokensPerSecond.Min:F0}-{t.TokensPerSecond.Max:F0}",
                    Ratio(t.RatioToEngine), $"{t.TokensPerCpuSecond.Median:F0}", Ratio(t.CpuEfficiencyToEngine), Ratio(t.CpuEfficiencyToGenAi), $"{t.TtftP50Ms:F1}/{t.TtftP99Ms:F1} ms", $"{t.ItlP50Ms:F2}/{t.ItlP99Ms:F2} ms", Cores(t), Errors(t));
            }
        }

        AnsiConsole.Write(table);
    }

    public async Task WriteAsync()
    {
        Directory.CreateDirectory(options.OutputDirectory);
        var json = JsonSerializer.Serialize(new
        {
            machine = MachineInfo.Line,
            command = options.Command,
            commit,
            model = Path.GetFileName(options.Model),
            model_file = modelHash,
            setup,
            tokens = options.Tokens,
            max_batch = options.MaxBatch,
            seconds = options.Seconds,
            warm_up_rounds = options.WarmUpRounds,
            rounds = options.Rounds,
            levels,
        }, Json);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, Name + ".json"), json);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, Name + ".md"), Markdown());
    }

    private string Markdown()
    {
        var md = new StringBuilder($"Machine: {MachineInfo.Line}\n\nCommand: `{options.Command}` at commit {commit}, model " +
            $"{Path.GetFileName(options.Model)} ({modelHash})\n\n");
        md.Append($"{setup}. Both sides: --max-batch {options.MaxBatch}, ONNX Runtime's default thread count, intra-op spinning {(options.Spin ? "on" : "off")}. Each round: N concurrent " +
            $"clients for {options.Seconds} s, each running turns of {options.Tokens} tokens (same system and user message, end tokens " +
            $"banned with logit_bias, default sampling) back to back. Per level, {options.Rounds} measured round(s) after " +
            $"{options.WarmUpRounds} warm-up round(s), each round running {string.Join(", ", levels[0].Targets.Select(t => t.Name))} in turn. " +
            "genai: ONNX Runtime GenAI's own loop as it ships (the Optimum graph, spinning threads, one per core) in its own process, " +
            "static batches of N copies of the same prompt (as the template renders it), N rows each, for the round's seconds; its " +
            "TTFT is a batch's, its ITL a step's, both its own medians over rounds. tokens/s: completion " +
            "tokens over the round's wall time, median and min-max over rounds; x engine: ratio to the engine's round of the same " +
            "round number, median and min-max; TTFT (request sent to first token) and ITL (gap between tokens) percentiles over all " +
            "measured turns; cores: CPU seconds per wall second of the bench process (the engine, or the HTTP clients), silo A, " +
            "silo B and the whole machine (others' work included), median over rounds; tokens/CPU-s: tokens per CPU-second of the serving " +
            "side (the bench process for the engine, silos A + B for stack and conversation, GenAI's process for genai; the HTTP " +
            "clients' CPU is left out), median (min-max), and its ratio to the engine's and to GenAI's, round by round. The machine is shared and CPU goes to runnable threads, not processes, " +
            "so tokens/s says how fast each target was given the CPU it won, tokens/CPU-s how much work a token cost it.\n\n");
        md.Append("| streams | target | tokens/s median (min-max) | x engine, median (min-max) | tokens/CPU-s median (min-max) | x engine | x GenAI | TTFT p50 / p99 ms | ITL p50 / p99 ms | cores bench / A / B / GenAI / machine | errors |\n");
        md.Append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var level in levels)
        {
            foreach (var t in level.Targets)
            {
                md.Append($"| {level.Streams} | {t.Name} | {t.TokensPerSecond.Median:F0} ({t.TokensPerSecond.Min:F0}-{t.TokensPerSecond.Max:F0}) | {Ratio(t.RatioToEngine)} | " +
                    $"{t.TokensPerCpuSecond.Median:F0} ({t.TokensPerCpuSecond.Min:F0}-{t.TokensPerCpuSecond.Max:F0}) | {Ratio(t.CpuEfficiencyToEngine)} | {Ratio(t.CpuEfficiencyToGenAi)} | " +
                    $"{t.TtftP50Ms:F1} / {t.TtftP99Ms:F1} | {t.ItlP50Ms:F2} / {t.ItlP99Ms:F2} | {Cores(t)} | {Errors(t)} |\n");
            }
        }

        md.Append("\nPer round:\n\n| streams | round | target | tokens/s | x engine | tokens/CPU-s | wall s | TTFT p50 / p99 ms | ITL p50 / p99 ms | cores bench / A / B / GenAI / machine | errors |\n");
        md.Append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var level in levels)
        {
            for (var r = 0; r < options.Rounds; r++)
            {
                var engine = level.Targets[0].Rounds[r].Round.TokensPerSecond;
                foreach (var t in level.Targets)
                {
                    var s = t.Rounds[r];
                    var round = s.Round;
                    var ratio = t == level.Targets[0] ? "-" : $"{round.TokensPerSecond / engine:F2}";
                    md.Append($"| {level.Streams} | {r + 1} | {t.Name} | {round.TokensPerSecond:F0} | {ratio} | {s.TokensPerCpuSecond:F0} | {round.WallSeconds:F2} | " +
                        $"{round.TtftP50Ms:F1} / {round.TtftP99Ms:F1} | {round.ItlP50Ms:F2} / {round.ItlP99Ms:F2} | " +
                        $"{s.BenchCores:F2} / {s.SiloACores:F2} / {s.SiloBCores:F2} / {s.GenAiCores:F2} / {s.MachineCores:F2} | {round.Errors} |\n");
                }
            }
        }

        return md.ToString();
    }

    private static string Ratio(Spread? ratio) =>
        ratio is { } r ? $"{r.Median:F2} ({r.Min:F2}-{r.Max:F2})" : "-";

    private static string Cores(StackTargetSummary t) => $"{t.BenchCores:F2} / {t.SiloACores:F2} / {t.SiloBCores:F2} / {t.GenAiCores:F2} / {t.MachineCores:F2}";

    private static string Errors(StackTargetSummary t) =>
        t.WarmUpErrors > 0 ? $"{t.Errors} (+{t.WarmUpErrors} in warm-up)" : $"{t.Errors}";
}
