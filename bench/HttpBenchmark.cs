using System.Diagnostics;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// Drives running servers through the conversation API: every round runs each target once, in order, so that
/// the machine's load drifts over all targets alike. Unmeasured warm-up rounds, interleaved the same way, come
/// first: JIT, connection pools, grain directory caches and the engines' buffers warm up once in a server's life.
/// </summary>
internal sealed class HttpBenchmark(HttpBenchOptions options)
{
    /// <summary>Runs the rounds and writes <paramref name="reportName"/>.md and .json; 1 when any measured turn failed.</summary>
    public async Task<int> RunAsync(string reportName, string setup, CancellationToken cancellationToken)
    {
        var bannedTokens = CheckModel(options.Model, options.Tokens);
        // Every client's create and send may be open at once; the pool must not make clients queue for a socket.
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = options.Streams * 2 };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var client = new SseTurnClient(http, options.Tokens, bannedTokens, openingSentences: options.OpeningSentences);

        AnsiConsole.MarkupLine($"[bold]ChatCluster HTTP benchmark[/] {options.Streams} streams x {options.Tokens} tokens, " +
            $"{options.Rounds} rounds of {options.Seconds} s; {Markup.Escape(MachineInfo.Line)}");
        var warmUps = await RunInterleavedAsync(client, "warm-up", options.WarmUpRounds, cancellationToken);
        var rounds = await RunInterleavedAsync(client, "round", options.Rounds, cancellationToken);
        var summaries = options.Targets
            .Select((target, t) => TargetSummary.Of(target, warmUps[t].Sum(r => r.Errors), rounds[t], t == 0 ? null : rounds[0]))
            .ToList();
        var report = new HttpReport(options, setup, summaries);
        report.Print();
        PrintErrors(warmUps.Concat(rounds).SelectMany(r => r));
        await report.WriteAsync(reportName);
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(Path.Combine(options.OutputDirectory, reportName))}.md and .json");
        return summaries.Any(s => s.Errors > 0) ? 1 : 0;
    }

    /// <summary>
    /// The end tokens to ban, read from the model the servers run; and a check that prompt and reply fit its
    /// window, since the server would otherwise cut replies short and the rounds would measure less work.
    /// </summary>
    internal static int[] CheckModel(string model, int tokens)
    {
        using var engine = InferenceEngine.Load(model, ExecutionDevice.Cpu);
        var prompt = engine.CountPromptTokens(SseTurnClient.PromptMessages);
        if (prompt + tokens > engine.Info.ContextWindow)
        {
            throw new ArgumentException(
                $"--tokens {tokens}: a {prompt}-token prompt leaves room for {engine.Info.ContextWindow - prompt} tokens in {engine.Info.Id}'s {engine.Info.ContextWindow}-token window");
        }

        return [.. engine.EndTokenIds];
    }

    /// <summary>Every target once per round, in order; the rounds of each target.</summary>
    private async Task<List<RoundResult>[]> RunInterleavedAsync(SseTurnClient client, string label, int count, CancellationToken cancellationToken)
    {
        var rounds = options.Targets.Select(_ => new List<RoundResult>()).ToArray();
        for (var r = 1; r <= count; r++)
        {
            for (var t = 0; t < options.Targets.Count; t++)
            {
                var round = await RunRoundAsync(client, options.Targets[t], cancellationToken);
                Progress($"{label} {r}/{count}", options.Targets[t], round);
                rounds[t].Add(round);
            }
        }

        return rounds;
    }

    /// <summary>
    /// Every client runs turns back to back (a new conversation each) until the round's time is up: a window of
    /// seconds, so that a scheduling hiccup of the shared machine is a small part of it. Turns started before
    /// the end run to completion and count.
    /// </summary>
    private Task<RoundResult> RunRoundAsync(SseTurnClient client, HttpTarget target, CancellationToken cancellationToken) =>
        RunClientsAsync(options.Streams, TimeSpan.FromSeconds(options.Seconds),
            ct => options.SecondTurns ? client.RunSecondTurnAsync(target, ct) : client.RunAsync(target, ct), cancellationToken);

    /// <summary>One round of <paramref name="streams"/> clients, each running <paramref name="turn"/> back to back for the window (the stack mode's rounds too).</summary>
    internal static async Task<RoundResult> RunClientsAsync(int streams, TimeSpan window, Func<CancellationToken, Task<TurnResult>> turn,
        CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var perClient = await Task.WhenAll(Enumerable.Range(0, streams).Select(async _ =>
        {
            var turns = new List<TurnResult>();
            do
            {
                turns.Add(await turn(cancellationToken));
            }
            while (Stopwatch.GetElapsedTime(start) < window);
            return turns;
        }));
        return RoundResult.Of([.. perClient.SelectMany(t => t)], Stopwatch.GetElapsedTime(start));
    }

    private static void Progress(string label, HttpTarget target, RoundResult round)
    {
        var errors = round.Errors > 0 ? $"[red]{round.Errors} errors[/]" : "0 errors";
        AnsiConsole.MarkupLine($"  {label} {Markup.Escape(target.Name)}: {round.TokensPerSecond:F0} tok/s, " +
            $"TTFT p50 {round.TtftP50Ms:F1} ms, ITL p50 {round.ItlP50Ms:F2} ms, {errors}");
    }

    /// <summary>Each distinct failure once with its count, warm-up included: a failing setup must show, not hide in a median.</summary>
    private static void PrintErrors(IEnumerable<RoundResult> rounds)
    {
        foreach (var group in rounds.SelectMany(r => r.ErrorMessages).GroupBy(m => m).OrderByDescending(g => g.Count()))
        {
            AnsiConsole.MarkupLine($"[red]  {group.Count()} x {Markup.Escape(group.Key)}[/]");
        }
    }
}
