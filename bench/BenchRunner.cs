using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Tokenization;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>Runs every measurement, side by side with the PyTorch peer, and writes the table, JSON and plot.</summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        var machine = MachineInfo.Line;
        AnsiConsole.MarkupLine($"[bold]ChatCluster benchmark[/] model {Markup.Escape(options.Model)}; {machine}");

        var results = new List<LevelResult>();
        using (var model = DecoderModel.Load(options.Model, ExecutionDevice.Cpu))
        {
            var tokenizer = BpeTokenizer.Load(Path.Combine(options.Model, "tokenizer.json"));
            var throughput = new ThroughputBenchmark(options, model, tokenizer);
            foreach (var n in options.Concurrency)
            {
                AnsiConsole.MarkupLine($"  engine: {n} concurrent sequence(s)...");
                results.Add(await throughput.RunAsync(n));
            }
        }

        if (options.RunPeer)
        {
            results.AddRange(RunPeer(options));
        }

        AnsiConsole.MarkupLine($"  conversation: time to first token over {options.Turns} turns...");
        var conversationBenchmark = new ConversationBenchmark(options);
        var turns = await conversationBenchmark.RunAsync();
        if (conversationBenchmark.TruncatedTurns > 0)
        {
            AnsiConsole.MarkupLine($"[yellow]  {conversationBenchmark.TruncatedTurns} turns lost their oldest turns to the context window (their cache cannot match)[/]");
        }

        Print(results, turns);
        var json = JsonSerializer.Serialize(new
        {
            machine,
            model = Path.GetFileName(options.Model),
            prompt_tokens = options.PromptTokens,
            generated_tokens = options.GeneratedTokens,
            levels = results,
            turns = turns.Select(t => new { t.Turn, t.PromptTokens, cached_ttft_ms = t.CachedMs, uncached_ttft_ms = t.UncachedMs }),
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        var jsonPath = Path.Combine(options.OutputDirectory, "bench.json");
        await File.WriteAllTextAsync(jsonPath, json);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "bench.md"), Markdown(results, turns, machine));
        Plot(jsonPath, options.OutputDirectory);
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(options.OutputDirectory)}/bench.json, bench.md, scaling.png");
        return 0;
    }

    private static IEnumerable<LevelResult> RunPeer(BenchOptions options)
    {
        AnsiConsole.MarkupLine("  peer: PyTorch with a KV cache (same weights)...");
        var root = BenchOptions.FindRepositoryRoot();
        var start = new ProcessStartInfo("/usr/bin/python3",
            [Path.Combine(root, "bench", "peer", "torch_peer.py"), "--model", options.Model,
             "--concurrency", string.Join(',', options.Concurrency),
             "--prompt", options.PromptTokens.ToString(), "--tokens", options.GeneratedTokens.ToString()])
        {
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start /usr/bin/python3");
        var rows = new List<LevelResult>();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            double D(string name) => r.GetProperty(name).GetDouble();
            rows.Add(new LevelResult("pytorch", r.GetProperty("concurrency").GetInt32(), D("tokens_per_second"), D("step_ms"),
                D("ttft_p50_ms"), D("ttft_p99_ms"), D("itl_p50_ms"), D("itl_p99_ms"), D("peak_rss_mb"), null));
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            AnsiConsole.MarkupLine($"[red]peer exited with {process.ExitCode}[/]");
        }

        return rows;
    }

    private static void Print(List<LevelResult> results, List<(int Turn, double CachedMs, double UncachedMs, int PromptTokens)> turns)
    {
        var table = new Table().AddColumns("engine", "seqs", "tok/s", "x vs 1 seq", "step ms", "TTFT p50/p99 ms", "ITL p50/p99 ms", "peak RSS MB", "alloc B/step");
        foreach (var r in results)
        {
            var single = results.First(x => x.Engine == r.Engine && x.Concurrency == results.Where(y => y.Engine == r.Engine).Min(y => y.Concurrency));
            table.AddRow(r.Engine, r.Concurrency.ToString(), $"{r.TokensPerSecond:F0}", $"{r.TokensPerSecond / single.TokensPerSecond:F1}",
                $"{r.StepMs:F2}", $"{r.TtftP50Ms:F1} / {r.TtftP99Ms:F1}", $"{r.ItlP50Ms:F2} / {r.ItlP99Ms:F2}", $"{r.PeakRssMb:F0}",
                r.AllocatedBytesPerStep is { } bytes ? $"{bytes:F0}" : "-");
        }

        AnsiConsole.Write(table);
        var conversation = new Table().AddColumns("turn", "prompt tokens", "TTFT kept cache ms", "TTFT no cache ms");
        foreach (var t in turns)
        {
            conversation.AddRow(t.Turn.ToString(), t.PromptTokens.ToString(), $"{t.CachedMs:F1}", $"{t.UncachedMs:F1}");
        }

        AnsiConsole.Write(conversation);
    }

    private static string Markdown(List<LevelResult> results, List<(int Turn, double CachedMs, double UncachedMs, int PromptTokens)> turns, string machine)
    {
        var md = new StringBuilder($"Machine: {machine}\n\n| engine | sequences | tokens/s | step ms | TTFT p50 / p99 ms | ITL p50 / p99 ms | peak RSS MB |\n|---|---|---|---|---|---|---|\n");
        foreach (var r in results)
        {
            md.Append($"| {r.Engine} | {r.Concurrency} | {r.TokensPerSecond:F0} | {r.StepMs:F2} | {r.TtftP50Ms:F1} / {r.TtftP99Ms:F1} | {r.ItlP50Ms:F2} / {r.ItlP99Ms:F2} | {r.PeakRssMb:F0} |\n");
        }

        md.Append("\n| turn | prompt tokens | TTFT, cache kept (ms) | TTFT, no cache (ms) |\n|---|---|---|---|\n");
        foreach (var t in turns)
        {
            md.Append($"| {t.Turn} | {t.PromptTokens} | {t.CachedMs:F1} | {t.UncachedMs:F1} |\n");
        }

        return md.ToString();
    }

    private static void Plot(string jsonPath, string outputDirectory)
    {
        var script = Path.Combine(BenchOptions.FindRepositoryRoot(), "bench", "plot.py");
        using var process = Process.Start("/usr/bin/python3", [script, jsonPath, Path.Combine(outputDirectory, "scaling.png")]);
        process?.WaitForExit();
    }
}
