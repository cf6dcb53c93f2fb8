using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Tokenization;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// The default mode: the engine against ONNX Runtime GenAI and PyTorch on the same model folder, in one run.
/// For each model and concurrency level, every engine runs a warm-up round, then measured rounds interleaved
/// (chatcluster, genai, pytorch, chatcluster, ...), each a few seconds of the same static batch of prompts
/// again and again, so that a noisy shared machine slows all engines alike within a round pair. Reported:
/// median tokens/s with min-max, and the engine's ratio to each peer taken round by round.
/// </summary>
internal static class BenchRunner
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<int> RunAsync(BenchOptions options)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        var machine = MachineInfo.Line;
        AnsiConsole.MarkupLine($"[bold]ChatCluster benchmark[/] {options.Models.Length} model(s); {Markup.Escape(machine)}; " +
            $"{options.Threads} intra-op threads each; {options.WarmUpRounds}+{options.Rounds} rounds of {options.RoundSeconds} s");
        var work = Directory.CreateTempSubdirectory("chatcluster-bench-");
        var reports = new List<ModelReport>();
        try
        {
            foreach (var modelDirectory in options.Models)
            {
                reports.Add(await RunModelAsync(options, modelDirectory, work.FullName));
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }

        var turns = new List<(int Turn, double CachedMs, double UncachedMs, int PromptTokens)>();
        if (options.Turns > 0)
        {
            AnsiConsole.MarkupLine($"  conversation: time to first token over {options.Turns} turns...");
            var conversationBenchmark = new ConversationBenchmark(options);
            turns = await conversationBenchmark.RunAsync();
            if (conversationBenchmark.TruncatedTurns > 0)
            {
                AnsiConsole.MarkupLine($"[yellow]  {conversationBenchmark.TruncatedTurns} turns lost their oldest turns to the context window (their cache cannot match)[/]");
            }
        }

        Print(reports);
        // Measured after the rounds, in the same hour and on the same cores as the steps it is compared with.
        var bandwidth = options.MemoryBound ? MemoryBandwidth.ReadGigabytesPerSecond(options.Threads) : 0;
        var memoryBound = options.MemoryBound
            ? reports.Zip(options.Models, (r, dir) => MemoryBoundReport.Rows(r.Model, dir, r.Levels, options.PromptTokens, options.GeneratedTokens, bandwidth))
                .SelectMany(rows => rows).ToList()
            : [];
        var json = JsonSerializer.Serialize(new
        {
            machine,
            command = options.Command,
            commit = Commit(),
            threads = options.Threads,
            rounds = options.Rounds,
            warm_up_rounds = options.WarmUpRounds,
            round_seconds = options.RoundSeconds,
            prompt_tokens = options.PromptTokens,
            generated_tokens = options.GeneratedTokens,
            models = reports,
            memory_bound = options.MemoryBound ? new { read_gb_per_second = bandwidth, rows = memoryBound } : null,
            turns = turns.Select(t => new { t.Turn, t.PromptTokens, cached_ttft_ms = t.CachedMs, uncached_ttft_ms = t.UncachedMs }),
        }, Json);
        var jsonPath = Path.Combine(options.OutputDirectory, "bench.json");
        await File.WriteAllTextAsync(jsonPath, json);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "bench.md"), Markdown(options, reports, turns, machine) +
            (options.MemoryBound ? MemoryBoundReport.Markdown(memoryBound, bandwidth, options.Threads) : ""));
        Plot(jsonPath, options.OutputDirectory);
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(options.OutputDirectory)}/bench.json, bench.md, scaling.png");
        return 0;
    }

    private static async Task<ModelReport> RunModelAsync(BenchOptions options, string modelDirectory, string work)
    {
        var name = ModelName(modelDirectory);
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(name)}[/] ({Markup.Escape(modelDirectory)})");
        var tokenizer = BpeTokenizer.Load(Path.Combine(modelDirectory, "tokenizer.json"));
        // The engine in this process, on each graph and thread setting asked for; the first (chatcluster: the
        // Optimum graph, spinning off) is the reference the others' ratios and greedy ids are taken against.
        var locals = new List<LocalEngine>();
        var peers = new List<PeerProcess>();
        try
        {
            foreach (var (engineName, graph, spin, threads) in LocalEngines)
            {
                if (options.Engines.Contains(engineName))
                {
                    var model = DecoderModel.Load(modelDirectory, options.Device, threads ?? options.Threads, allowSpinning: spin, graph: graph);
                    locals.Add(new LocalEngine(engineName, model, new ThroughputBenchmark(options, model, tokenizer)));
                }
            }

            foreach (var (peerName, spin, fused) in new[] { ("genai", true, false), ("genai-nospin", false, false), ("genai-fused", true, true), ("genai-fused-nospin", false, true) })
            {
                if (options.Engines.Contains(peerName))
                {
                    peers.Add(GenAiPeer.Start(modelDirectory, options.Threads, work, spin, fused));
                }
            }

            foreach (var (peerName, _, _) in LlamaPeer.Variants.Where(v => options.Engines.Contains(v.Name)))
            {
                peers.Add(LlamaPeer.Start(peerName, modelDirectory, options.Threads, options.Concurrency.Max(), work));
            }

            if (options.Engines.Contains("pytorch"))
            {
                peers.Add(PeerProcess.Start("pytorch", "/usr/bin/python3",
                    [Path.Combine(BenchOptions.FindRepositoryRoot(), "bench", "peer", "torch_peer.py"), "--model", modelDirectory,
                     "--threads", options.Threads.ToString(), "--serve"],
                    new Dictionary<string, string> { ["ORT_DISABLE_TELEMETRY"] = "1" }));
            }

            // Greedy ids of a few prompts, per engine: the engines must compute the same thing to be compared.
            var engine = locals[0].Benchmark;
            var probes = engine.Prompts(8);
            var generated = new List<List<int[]>>();
            foreach (var local in locals)
            {
                local.Benchmark.StartLevel(1);
                var ids = new List<int[]>();
                foreach (var probe in probes)
                {
                    ids.Add(await local.Benchmark.GenerateAsync(probe, options.GeneratedTokens));
                }

                generated.Add(ids);
            }

            var ours = generated[0];
            var agreement = locals.Skip(1).Select((l, i) => (l.Name, Same: Agreement(ours, generated[i + 1])))
                .Concat(peers.Select(p => (p.Name, Same: Agreement(ours, [.. probes.Select(probe => p.Generate(probe, options.GeneratedTokens))]))))
                .ToDictionary(a => a.Name, a => a.Same);
            foreach (var (peer, same) in agreement)
            {
                AnsiConsole.MarkupLine($"  greedy ids vs {peer}: {Markup.Escape(same)}");
            }

            var levels = new List<LevelResult>();
            var ratios = new List<RatioResult>();
            foreach (var n in options.Concurrency)
            {
                var (rows, levelRatios) = await RunLevelAsync(options, Array.IndexOf(options.Models, modelDirectory), locals, peers, n);
                levels.AddRange(rows);
                ratios.AddRange(levelRatios);
            }

            return new ModelReport(name, Parameters(modelDirectory), agreement, levels, ratios);
        }
        finally
        {
            foreach (var peer in peers)
            {
                peer.Dispose();
            }

            foreach (var local in locals)
            {
                local.Benchmark.Dispose();
                local.Model.Dispose();
            }
        }
    }

    /// <summary>
    /// The engine's variants: name, graph file, ONNX Runtime's spinning intra-op threads, and an intra-op thread
    /// count of their own (null: --threads), so that thread settings are measured side by side in one run.
    /// </summary>
    private static readonly (string Name, string Graph, bool Spinning, int? Threads)[] LocalEngines =
    [
        ("chatcluster", DecoderModel.OptimumGraph, false, null),
        ("chatcluster-spin", DecoderModel.OptimumGraph, true, null),
        ("chatcluster-fused", "model.fused.onnx", false, null),
        ("chatcluster-fused-spin", "model.fused.onnx", true, null),
        ("chatcluster-fused-1t", "model.fused.onnx", false, 1),
        ("chatcluster-fused-int8", "model.fused.int8.onnx", false, null),
    ];

    private sealed record LocalEngine(string Name, DecoderModel Model, ThroughputBenchmark Benchmark);

    private static async Task<(List<LevelResult>, List<RatioResult>)> RunLevelAsync(
        BenchOptions options, int modelIndex, List<LocalEngine> locals, List<PeerProcess> peers, int concurrency)
    {
        var pytorchMax = options.PyTorchMaxConcurrency[Math.Min(modelIndex, options.PyTorchMaxConcurrency.Length - 1)];
        peers = [.. peers.Where(p => p.Name != "pytorch" || concurrency <= pytorchMax)];
        locals.ForEach(l => l.Benchmark.StartLevel(concurrency));
        var local = locals.Count;
        var prompts = locals[0].Benchmark.Prompts(concurrency);
        var self = Environment.ProcessId;
        ProcessMemory.ResetPeak(self);
        foreach (var peer in peers)
        {
            ProcessMemory.ResetPeak(peer.Id);
        }

        var names = locals.Select(l => l.Name).Concat(peers.Select(p => p.Name)).ToList();
        var rounds = names.Select(_ => new List<Measurement>()).ToArray();
        var cpuRates = names.Select(_ => new List<double>()).ToArray();
        for (var round = -options.WarmUpRounds; round < options.Rounds; round++)
        {
            var line = new StringBuilder($"  {concurrency,2} seq, {(round < 0 ? "warm-up" : $"round {round + 1}")}:");
            for (var e = 0; e < names.Count; e++)
            {
                // Tokens per CPU-second of the process that did the work (this one for the engine): what holds when
                // clients or other tenants share the cores, where tokens/s does not.
                var cpu = new CpuTally([e < local ? self : peers[e - local].Id]);
                var cpuBefore = cpu.Read();
                var wall = Stopwatch.StartNew();
                var m = e < local ? await locals[e].Benchmark.RunRoundAsync(prompts, options.RoundSeconds)
                    : peers[e - local].Run(prompts, options.GeneratedTokens, options.RoundSeconds);
                var cpuSeconds = cpu.Read()[0] - cpuBefore[0];
                if (round >= 0)
                {
                    rounds[e].Add(m);
                    cpuRates[e].Add(cpuSeconds > 0 ? m.TokensPerSecond * wall.Elapsed.TotalSeconds / cpuSeconds : 0);
                }

                line.Append($" {names[e]} {m.TokensPerSecond:F0}");
            }

            AnsiConsole.MarkupLine(Markup.Escape(line.Append(" tok/s").ToString()));
        }

        var levels = new List<LevelResult>();
        for (var e = 0; e < names.Count; e++)
        {
            var r = rounds[e];
            var tps = r.Select(m => m.TokensPerSecond).ToArray();
            var alloc = e < local ? Median(r.Select(m => m.AllocatedBytesPerStep ?? 0)) : (double?)null;
            levels.Add(new LevelResult(names[e], concurrency, Median(tps), tps.Min(), tps.Max(),
                Median(r.Select(m => m.StepMs)), Median(r.Select(m => m.TtftP50Ms)), Median(r.Select(m => m.TtftP99Ms)),
                Median(r.Select(m => m.ItlP50Ms)), Median(r.Select(m => m.ItlP99Ms)),
                ProcessMemory.PeakMb(e < local ? self : peers[e - local].Id), alloc, tps,
                e < local ? new StepPhases(Median(r.Select(m => m.Phases!.PrefillMs)), Median(r.Select(m => m.Phases!.RebuildMs)),
                    Median(r.Select(m => m.Phases!.ModelMs)), Median(r.Select(m => m.Phases!.SampleMs)), Median(r.Select(m => m.Phases!.IdleMs))) : null,
                Median(cpuRates[e])));
        }

        // Each variant of the engine over every engine after it, round by round (round i of both ran back to back).
        var ratios = new List<RatioResult>();
        for (var a = 0; a < local; a++)
        {
            for (var e = a + 1; e < names.Count; e++)
            {
                var pairs = rounds[a].Zip(rounds[e], (x, y) => x.TokensPerSecond / y.TokensPerSecond).ToArray();
                ratios.Add(new RatioResult(concurrency, names[a], names[e], Median(pairs), pairs.Min(), pairs.Max(), pairs));
            }
        }

        return (levels, ratios);
    }

    private static string Agreement(List<int[]> ours, List<int[]> theirs)
    {
        // A peer that stops at an end token (GenAI, whose length forcing would mask end tokens) is compared up to it.
        // Greedy ids that differ once go on differently; the tokens before each prompt's first difference say
        // how close two engines are (near ties in a tiny model's logits flip under small numeric differences).
        var compared = 0;
        var differing = 0;
        var agreeing = 0;
        for (var p = 0; p < ours.Count; p++)
        {
            var n = Math.Min(ours[p].Length, theirs[p].Length);
            compared += n;
            var prefix = ours[p].AsSpan(0, n).CommonPrefixLength(theirs[p].AsSpan(0, n));
            agreeing += prefix;
            if (prefix < n)
            {
                differing++;
            }
        }

        return differing == 0
            ? $"identical ({compared} tokens over {ours.Count} prompts)"
            : $"{differing} of {ours.Count} prompts differ ({agreeing} of {compared} tokens before each prompt's first difference)";
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>The folder's name, or its parent's for the pipeline's "RUN/model".</summary>
    private static string ModelName(string modelDirectory)
    {
        var name = Path.GetFileName(modelDirectory);
        return name == "model" ? Path.GetFileName(Path.GetDirectoryName(modelDirectory)) ?? name : name;
    }

    private static string Parameters(string modelDirectory)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(modelDirectory, "config.json")));
        var c = doc.RootElement;
        int I(string n, string llama) => c.TryGetProperty(n, out var v) || c.TryGetProperty(llama, out v) ? v.GetInt32() : 0;
        return $"{I("n_layer", "num_hidden_layers")} layers x {I("n_embd", "hidden_size")} wide, {I("n_head", "num_attention_heads")} heads, vocab {I("vocab_size", "vocab_size")}";
    }

    private static string Commit()
    {
        try
        {
            var start = new ProcessStartInfo("git", ["-C", BenchOptions.FindRepositoryRoot(), "rev-parse", "--short", "HEAD"]) { RedirectStandardOutput = true };
            using var git = Process.Start(start);
            var text = git?.StandardOutput.ReadToEnd().Trim() ?? "";
            git?.WaitForExit();
            return text;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }

    private static void Print(List<ModelReport> reports)
    {
        foreach (var report in reports)
        {
            var table = new Table().Title(report.Model).AddColumns("engine", "seqs", "tok/s median (min-max)", "tok/CPU-s", "step ms", "TTFT p50/p99 ms", "ITL p50/p99 ms", "peak RSS MB", "alloc B/step");
            foreach (var r in report.Levels)
            {
                table.AddRow(r.Engine, r.Concurrency.ToString(), $"{r.TokensPerSecond:F0} ({r.TokensPerSecondMin:F0}-{r.TokensPerSecondMax:F0})", $"{r.TokensPerCpuSecond:F0}",
                    $"{r.StepMs:F2}", $"{r.TtftP50Ms:F1} / {r.TtftP99Ms:F1}", $"{r.ItlP50Ms:F2} / {r.ItlP99Ms:F2}", $"{r.PeakRssMb:F0}",
                    r.AllocatedBytesPerStep is { } bytes ? $"{bytes:F0}" : "-");
            }

            AnsiConsole.Write(table);
            var ratios = new Table().AddColumns("seqs", "engine / other", "median (min-max) of rounds");
            foreach (var r in report.Ratios)
            {
                ratios.AddRow(r.Concurrency.ToString(), $"{r.Engine} / {r.Versus}", $"{r.Median:F2} ({r.Min:F2}-{r.Max:F2})");
            }

            AnsiConsole.Write(ratios);
        }
    }

    private static string Markdown(BenchOptions options, List<ModelReport> reports, List<(int Turn, double CachedMs, double UncachedMs, int PromptTokens)> turns, string machine)
    {
        var md = new StringBuilder($"Machine: {machine}\n\nCommand: `{options.Command}` (commit {Commit()})\n\n" +
            $"Prompt {options.PromptTokens} tokens, {options.GeneratedTokens} greedy tokens each (end tokens ignored), {options.Threads} intra-op threads " +
            $"for every engine; per level {options.WarmUpRounds} warm-up + {options.Rounds} measured rounds of {options.RoundSeconds} s per engine, interleaved.\n");
        foreach (var report in reports)
        {
            md.Append($"\n### {report.Model} ({report.Parameters})\n\n");
            md.Append($"Greedy ids against the engine's: {string.Join("; ", report.GreedyIds.Select(kv => $"{kv.Key} {kv.Value}"))}\n\n");
            md.Append("| engine | sequences | tokens/s median (min-max) | tokens per CPU-second | step ms | TTFT p50 / p99 ms | ITL p50 / p99 ms | peak RSS MB | alloc B/step |\n|---|---|---|---|---|---|---|---|---|\n");
            foreach (var r in report.Levels)
            {
                md.Append($"| {r.Engine} | {r.Concurrency} | {r.TokensPerSecond:F0} ({r.TokensPerSecondMin:F0}-{r.TokensPerSecondMax:F0}) | {r.TokensPerCpuSecond:F0} | {r.StepMs:F2} | " +
                    $"{r.TtftP50Ms:F1} / {r.TtftP99Ms:F1} | {r.ItlP50Ms:F2} / {r.ItlP99Ms:F2} | {r.PeakRssMb:F0} | " +
                    $"{(r.AllocatedBytesPerStep is { } b ? b.ToString("F0") : "-")} |\n");
            }

            md.Append("\nWhere the engine's step went (ms per decode step, median of rounds): prefill calls, batch rebuilds (KV rows copied), " +
                "the decode model call, sampling and streaming out, and idle (the loop waiting for the next batch):\n\n" +
                "| engine | sequences | step ms | prefill | rebuild | model call | sample + stream | idle |\n|---|---|---|---|---|---|---|---|\n");
            foreach (var r in report.Levels.Where(l => l.Phases is not null))
            {
                var p = r.Phases!;
                md.Append($"| {r.Engine} | {r.Concurrency} | {r.StepMs:F3} | {p.PrefillMs:F3} | {p.RebuildMs:F3} | {p.ModelMs:F3} | {p.SampleMs:F3} | {p.IdleMs:F3} |\n");
            }

            md.Append("\n| sequences | engine / other | ratio, median of rounds (min-max) |\n|---|---|---|\n");
            foreach (var r in report.Ratios)
            {
                md.Append($"| {r.Concurrency} | {r.Engine} / {r.Versus} | {r.Median:F2} ({r.Min:F2}-{r.Max:F2}) |\n");
            }
        }

        if (turns.Count > 0)
        {
            md.Append($"\n{Path.GetFileName(options.Model)}, time to first token over a conversation:\n\n| turn | prompt tokens | TTFT, cache kept (ms) | TTFT, no cache (ms) |\n|---|---|---|---|\n");
            foreach (var t in turns)
            {
                md.Append($"| {t.Turn} | {t.PromptTokens} | {t.CachedMs:F1} | {t.UncachedMs:F1} |\n");
            }
        }

        return md.ToString();
    }

    private static void Plot(string jsonPath, string outputDirectory)
    {
        var script = Path.Combine(BenchOptions.FindRepositoryRoot(), "bench", "plot.py");
        using var process = Process.Start("/usr/bin/python3", [script, jsonPath, Path.Combine(outputDirectory, "scaling.png")]);
        process?.WaitForExit();
    }

    private sealed record ModelReport(string Model, string Parameters, Dictionary<string, string> GreedyIds, List<LevelResult> Levels, List<RatioResult> Ratios);
}
