using System.Diagnostics;
using System.Security.Cryptography;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// The whole stack against the engine alone, on the same model with the same batch size. The targets take
/// turns round by round at each concurrency level (engine, stack, conversation, genai, engine, stack, ...):
/// <list type="bullet">
/// <item>engine: <see cref="InferenceEngine"/> in this process, called as the gateway calls it;</item>
/// <item>stack: streamed POST /v1/chat/completions to silo A, a separate process (HTTP, SSE, the engine in it);</item>
/// <item>conversation: a conversation created through silo A and its turn streamed through silo B, a front node
/// (no engine), so the engine is A's and every token crosses to B over Orleans before B writes it out.</item>
/// <item>genai: ONNX Runtime GenAI's own generate loop as it ships (the Optimum graph, spinning threads, one per
/// core) in its own process, on static batches of the same prompt: the bare loop the stack's CPU per token is
/// held against (--no-genai leaves it out).</item>
/// </list>
/// The silos form one cluster on a redis-server this mode starts (<see cref="LocalCluster"/>). Ratios to the
/// engine (and to GenAI) are taken round by round (they ran seconds apart, on the same machine load), then summarised.
/// </summary>
internal sealed class StackBenchmark(StackOptions options)
{
    internal const string Engine = "engine";
    internal const string Stack = "stack";
    internal const string Conversation = "conversation";
    internal const string GenAi = "genai";

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var bannedTokens = HttpBenchmark.CheckModel(options.Model, options.Tokens);
        // Both sides leave ONNX Runtime's thread count to its default (one per core), and spin alike.
        using var engine = InferenceEngine.Load(options.Model, ExecutionDevice.Cpu,
            new SchedulerOptions { MaxBatchRows = options.MaxBatch, AllowSpinning = options.Spin });
        AnsiConsole.MarkupLine($"[bold]ChatCluster whole stack vs engine[/] {string.Join(", ", options.Levels)} streams x {options.Tokens} tokens, " +
            $"{options.Rounds} rounds of {options.Seconds} s, --max-batch {options.MaxBatch}{(options.Spin ? ", spinning" : "")}; {Markup.Escape(MachineInfo.Line)}");
        // Silo A serves everything and holds the one engine, as one node would; silo B is a front node (no model) that
        // relays the conversation target's tokens, so both HTTP targets run on one engine, as GenAI's loop does.
        IReadOnlyList<string> engineFlags = ["--max-batch", options.MaxBatch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--intra-op-spinning", options.Spin ? "on" : "off"];
        using var cluster = await LocalCluster.StartAsync([("silo A", engineFlags), ("silo B", ["--role", "front"])], options.Model,
            options.SiloEnvironment, cancellationToken);
        var (siloA, siloB) = (cluster.Silos[0], cluster.Silos[1]);

        // Every stream's request may be open at once; the pool must not make clients queue for a socket.
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = options.Levels.Max() * 2 };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var sse = new SseTurnClient(http, options.Tokens, bannedTokens, engine.Info.Id);
        var engineClient = new EngineTurnClient(engine, options.Tokens, bannedTokens);
        var remote = new HttpTarget(Conversation, new Uri(siloA.Url + "/"), new Uri(siloB.Url + "/"));
        var window = TimeSpan.FromSeconds(options.Seconds);
        Func<int, CancellationToken, Task<RoundResult>> Clients(Func<CancellationToken, Task<TurnResult>> turn) =>
            (streams, ct) => HttpBenchmark.RunClientsAsync(streams, window, turn, ct);
        var targets = new List<(string Name, Func<int, CancellationToken, Task<RoundResult>> Round)>
        {
            (Engine, Clients(engineClient.RunAsync)),
            (Stack, Clients(ct => sse.RunCompletionAsync(new Uri(siloA.Url + "/"), ct))),
            (Conversation, Clients(ct => sse.RunAsync(remote, ct))),
        };
        var processes = new List<int> { Environment.ProcessId, siloA.ProcessId, siloB.ProcessId };
        using var genai = options.GenAi ? StartGenAi(options.Model) : null;
        if (genai is not null)
        {
            var prompt = new List<int>();
            engine.Template.Encode(SseTurnClient.PromptMessages, addGenerationPrompt: true, prompt);
            targets.Add((GenAi, (streams, ct) => RunGenAiAsync(genai, [.. Enumerable.Repeat(prompt.ToArray(), streams)], ct)));
            processes.Add(genai.Id);
        }

        var cpu = new CpuTally(processes);

        var levels = new List<StackLevel>();
        foreach (var streams in options.Levels)
        {
            var warmUps = await RunInterleavedAsync(targets, cpu, streams, "warm-up", options.WarmUpRounds, cancellationToken);
            var rounds = await RunInterleavedAsync(targets, cpu, streams, "round", options.Rounds, cancellationToken);
            var genaiIndex = targets.FindIndex(t => t.Name == GenAi);
            var genaiRounds = genaiIndex < 0 ? null : rounds[genaiIndex];
            levels.Add(new StackLevel(streams, [.. targets.Select((t, i) => StackTargetSummary.Of(
                t.Name, warmUps[i].Sum(r => r.Round.Errors), rounds[i], i == 0 ? null : rounds[0], t.Name == GenAi ? null : genaiRounds))]));
            PrintErrors(warmUps.Concat(rounds).SelectMany(r => r));
        }

        var report = new StackReport(options, Setup(siloA, siloB), ModelHash(options.Model), GitCommit(), levels);
        report.Print();
        await report.WriteAsync();
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(Path.Combine(options.OutputDirectory, StackReport.Name))}.md and .json " +
            "(plot: python3 bench/plot_stack.py)");
        return levels.SelectMany(l => l.Targets).Any(t => t.Errors > 0) ? 1 : 0;
    }

    private static string Setup(LocalCluster.Node a, LocalCluster.Node b) =>
        $"engine: InferenceEngine in the bench process; stack: streamed /v1/chat/completions on {a.Name} ({a.Url}); " +
        $"conversation: created through {a.Name}, its turn streamed through {b.Name} ({b.Url}, --role front: no engine), so " +
        "the engine is A's and every token crosses to B over Orleans. Two silo processes on one redis-server (AOF on), " +
        "the bench alongside, all on this machine";

    /// <summary>Every target once per round, in order; the rounds of each target.</summary>
    private static async Task<List<StackRound>[]> RunInterleavedAsync(List<(string Name, Func<int, CancellationToken, Task<RoundResult>> Round)> targets,
        CpuTally cpu, int streams, string label, int count, CancellationToken cancellationToken)
    {
        var rounds = targets.Select(_ => new List<StackRound>()).ToArray();
        for (var r = 1; r <= count; r++)
        {
            for (var t = 0; t < targets.Count; t++)
            {
                var before = cpu.Read();
                var round = await targets[t].Round(streams, cancellationToken);
                var cores = CpuTally.Cores(before, cpu.Read(), round.WallSeconds);
                // The serving side: the bench process for the engine (its clients are a few awaits), the silos for
                // the HTTP targets, GenAI's own process for GenAI. The machine is the last reading.
                var genaiCores = cores.Length == 5 ? cores[3] : 0;
                var serving = targets[t].Name switch
                {
                    Engine => cores[0],
                    GenAi => genaiCores,
                    _ => cores[1] + cores[2],
                };
                var result = new StackRound(round, cores[0], cores[1], cores[2], genaiCores, cores[^1],
                    serving > 0 ? round.TokensPerSecond / serving : 0);
                rounds[t].Add(result);
                var errors = round.Errors > 0 ? $"[red]{round.Errors} errors[/]" : "0 errors";
                AnsiConsole.MarkupLine($"  {streams} streams {label} {r}/{count} {targets[t].Name}: {round.TokensPerSecond:F0} tok/s, " +
                    $"TTFT p50 {round.TtftP50Ms:F1} ms, ITL p50 {round.ItlP50Ms:F2} ms, cores bench {cores[0]:F2} A {cores[1]:F2} " +
                    $"B {cores[2]:F2} GenAI {genaiCores:F2} machine {cores[^1]:F2}, {errors}");
            }
        }

        return rounds;
    }

    /// <summary>GenAI as it ships, one intra-op thread per core (ONNX Runtime's default, as both other sides run).</summary>
    private static PeerProcess StartGenAi(string model)
    {
        var work = Directory.CreateTempSubdirectory("chatcluster-stack-");
        try
        {
            return GenAiPeer.Start(model, Environment.ProcessorCount, work.FullName);
        }
        finally
        {
            work.Delete(recursive: true); // the peer has loaded its model from it (or failed to)
        }
    }

    /// <summary>
    /// One GenAI round: static batches of <paramref name="prompts"/> (one row each), back to back for the window, in
    /// the peer's process. Its latencies are its own (time to first token of a batch, then per step).
    /// </summary>
    private async Task<RoundResult> RunGenAiAsync(PeerProcess peer, int[][] prompts, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var m = await Task.Run(() => peer.Run(prompts, options.Tokens, options.Seconds), cancellationToken);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new RoundResult(m.TokensPerSecond, wall, (int)Math.Round(m.TokensPerSecond * wall), m.TtftP50Ms, m.TtftP99Ms,
            m.ItlP50Ms, m.ItlP99Ms, 0, [], [], []);
    }

    /// <summary>Each distinct failure once with its count, warm-up included.</summary>
    private static void PrintErrors(IEnumerable<StackRound> rounds)
    {
        foreach (var group in rounds.SelectMany(r => r.Round.ErrorMessages).GroupBy(m => m).OrderByDescending(g => g.Count()))
        {
            AnsiConsole.MarkupLine($"[red]  {group.Count()} x {Markup.Escape(group.Key)}[/]");
        }
    }

    /// <summary>The model's weights may change under a commit (retraining): the report names the file it measured.</summary>
    private static string ModelHash(string model)
    {
        var onnx = Directory.GetFiles(model, "*.onnx").Order(StringComparer.Ordinal).FirstOrDefault();
        if (onnx is null)
        {
            return "";
        }

        using var file = File.OpenRead(onnx);
        return $"{Path.GetFileName(onnx)} sha256 {Convert.ToHexStringLower(SHA256.HashData(file))[..12]}";
    }

    /// <summary>HEAD, with "-dirty" when tracked files differ from it (others work in the same tree: the build measured may hold their changes).</summary>
    private static string GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "describe --always --dirty")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = BenchOptions.FindRepositoryRoot(),
            });
            var commit = git?.StandardOutput.ReadToEnd().Trim() ?? "";
            git?.WaitForExit();
            return commit;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return ""; // no git
        }
    }
}

/// <summary>
/// A target's round with the cores each process kept busy during it (machine: every process, others' included),
/// and the tokens made per CPU-second of the serving side (the engine's process; the silos for HTTP targets). On
/// a machine shared with other work the scheduler shares CPU by runnable threads, not by process, so a target's
/// tokens/s depends on how much CPU it won; tokens per CPU-second does not.
/// </summary>
internal sealed record StackRound(RoundResult Round, double BenchCores, double SiloACores, double SiloBCores, double GenAiCores,
    double MachineCores, double TokensPerCpuSecond);

/// <summary>The targets' figures at one concurrency level.</summary>
internal sealed record StackLevel(int Streams, IReadOnlyList<StackTargetSummary> Targets);

/// <summary>
/// A target's figures at one level over its measured rounds: tokens/s median and range; the ratio to the engine
/// taken round by round; tokens per serving CPU-second and its ratio to the engine's and to GenAI's, round by
/// round; latency percentiles over every measured turn (GenAI: the median of its rounds' own); median cores busy
/// per process.
/// </summary>
internal sealed record StackTargetSummary(
    string Name,
    Spread TokensPerSecond,
    Spread? RatioToEngine,
    Spread TokensPerCpuSecond,
    Spread? CpuEfficiencyToEngine,
    Spread? CpuEfficiencyToGenAi,
    double TtftP50Ms,
    double TtftP99Ms,
    double ItlP50Ms,
    double ItlP99Ms,
    double BenchCores,
    double SiloACores,
    double SiloBCores,
    double GenAiCores,
    double MachineCores,
    int Errors,
    int WarmUpErrors,
    IReadOnlyList<StackRound> Rounds)
{
    public static StackTargetSummary Of(string name, int warmUpErrors, IReadOnlyList<StackRound> rounds, IReadOnlyList<StackRound>? engine,
        IReadOnlyList<StackRound>? genai)
    {
        double Median(Func<StackRound, double> of) => Percentiles.Of([.. rounds.Select(of)], 0.5);
        // Turns' samples where the target has them; a peer reports its own percentiles per round.
        double Latency(Func<RoundResult, List<double>> samples, Func<RoundResult, double> ownFigure, double q) =>
            rounds.Any(r => samples(r.Round).Count > 0)
                ? Percentiles.Of([.. rounds.SelectMany(r => samples(r.Round))], q)
                : Median(r => ownFigure(r.Round));
        Spread? PerCpuAgainst(IReadOnlyList<StackRound>? other) =>
            other is null ? null : Spread.Of(rounds.Zip(other, (r, o) => r.TokensPerCpuSecond / o.TokensPerCpuSecond));
        return new StackTargetSummary(
            name,
            Spread.Of(rounds.Select(r => r.Round.TokensPerSecond)),
            engine is null ? null : Spread.Of(rounds.Zip(engine, (r, e) => r.Round.TokensPerSecond / e.Round.TokensPerSecond)),
            Spread.Of(rounds.Select(r => r.TokensPerCpuSecond)),
            PerCpuAgainst(engine),
            PerCpuAgainst(genai),
            Latency(r => r.TtftMs, r => r.TtftP50Ms, 0.5), Latency(r => r.TtftMs, r => r.TtftP99Ms, 0.99),
            Latency(r => r.ItlMs, r => r.ItlP50Ms, 0.5), Latency(r => r.ItlMs, r => r.ItlP99Ms, 0.99),
            Median(r => r.BenchCores), Median(r => r.SiloACores), Median(r => r.SiloBCores), Median(r => r.GenAiCores), Median(r => r.MachineCores),
            rounds.Sum(r => r.Round.Errors), warmUpErrors, rounds);
    }
}
