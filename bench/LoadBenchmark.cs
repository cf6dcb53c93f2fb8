using System.Diagnostics;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// The load mode: starts Redis and the silos (<see cref="LocalCluster"/>), then runs concurrent streaming
/// clients for minutes, client i on silo i mod N, each keeping a conversation for a few turns before opening a
/// new one: the traffic that leaves finished conversations behind (grain activations, kept KV caches, stored
/// state), so that whatever the silos keep per conversation shows as memory growing over time. Every few
/// seconds it samples the silos' memory (<see cref="MemorySampler"/>) and the interval's turns, prints a line,
/// and at the end writes the report and the plot (<see cref="LoadReport"/>).
/// </summary>
internal sealed class LoadBenchmark(LoadOptions options)
{
    /// <summary>A client whose turn failed waits this long before its next: a dead silo must not turn the clients into a busy loop.</summary>
    private static readonly TimeSpan ErrorPause = TimeSpan.FromSeconds(1);

    /// <summary>Runs the load and writes the report; 1 when any turn failed.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var bannedTokens = HttpBenchmark.CheckModel(options.Model, options.Tokens);
        var names = Enumerable.Range(0, options.Silos).Select(i => $"silo {(char)('A' + i)}").ToList();
        AnsiConsole.MarkupLine($"[bold]ChatCluster load[/] {options.Clients} clients x {options.Minutes:0.##} min on {options.Silos} silo(s), " +
            $"a new conversation every {options.TurnsPerConversation} turns of {options.Tokens} tokens; {Markup.Escape(MachineInfo.Line)}");
        if (options.SiloEnvironment.Count > 0)
        {
            AnsiConsole.MarkupLine($"  silo environment: {Markup.Escape(string.Join(' ', options.SiloEnvironment.Select(e => $"{e.Key}={e.Value}")))}");
        }

        using var cluster = await LocalCluster.StartAsync(names, options.Model, options.SiloEnvironment, cancellationToken);
        // Every client's create and send may be open at once; the pool must not make clients queue for a socket.
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = options.Clients * 2 };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        // The scrapes have their own connections, so a sample never waits behind the clients' streams.
        using var scrapes = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var client = new SseTurnClient(http, options.Tokens, bannedTokens);
        var sampler = new MemorySampler(scrapes, cluster);
        var tally = new LoadTally();
        var targets = cluster.Silos.Select(s => HttpTarget.Parse($"{s.Name}={s.Url}")).ToList();

        // The first sample is the idle silos after start-up, before any client: the curve's baseline.
        var samples = new List<LoadSample> { Print(await SampleAsync(sampler, tally, 0, 1, cancellationToken)) };
        var start = Stopwatch.GetTimestamp();
        var duration = TimeSpan.FromMinutes(options.Minutes);
        var clients = Task.WhenAll(Enumerable.Range(0, options.Clients)
            .Select(i => RunClientAsync(client, targets[i % targets.Count], tally, start, duration, cancellationToken)));
        using (var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.SampleSeconds)))
        {
            var last = start;
            // Turns started before the end run to completion; the last sample is taken once they all have.
            while (!clients.IsCompleted)
            {
                await Task.WhenAny(clients, timer.WaitForNextTickAsync(cancellationToken).AsTask());
                var now = Stopwatch.GetTimestamp();
                samples.Add(Print(await SampleAsync(sampler, tally, Stopwatch.GetElapsedTime(start, now).TotalSeconds,
                    Stopwatch.GetElapsedTime(last, now).TotalSeconds, cancellationToken)));
                last = now;
            }
        }

        await clients;
        var wall = Stopwatch.GetElapsedTime(start);
        var setup = $"{options.Silos} silo process(es) (--gateway-port 0, --cluster-id bench) on one redis-server (AOF on), the bench " +
            "client alongside, all on this machine";
        var report = new LoadReport(options, setup, samples, LoadSummary.Of(samples, tally.Total(), wall));
        report.Print();
        await report.WriteAsync();
        return tally.Total().Errors > 0 ? 1 : 0;
    }

    /// <summary>One client: turns back to back until the time is up, a new conversation every few turns or after a failed turn.</summary>
    private async Task RunClientAsync(SseTurnClient client, HttpTarget silo, LoadTally tally, long start, TimeSpan duration,
        CancellationToken cancellationToken)
    {
        string? conversation = null;
        var turns = 0;
        while (Stopwatch.GetElapsedTime(start) < duration)
        {
            if (turns == options.TurnsPerConversation)
            {
                (conversation, turns) = (null, 0);
            }

            var (id, turn) = await client.RunAsync(silo, conversation, cancellationToken);
            tally.Add(turn);
            if (turn.Error is null)
            {
                (conversation, turns) = (id, turns + 1);
            }
            else
            {
                (conversation, turns) = (null, 0);
                await Task.Delay(ErrorPause, cancellationToken);
            }
        }
    }

    private static async Task<LoadSample> SampleAsync(MemorySampler sampler, LoadTally tally, double seconds, double intervalSeconds,
        CancellationToken cancellationToken)
    {
        var interval = tally.TakeInterval();
        var (redis, silos) = await sampler.SampleAsync(cancellationToken);
        return new LoadSample(seconds, interval.CompletionTokens / intervalSeconds, interval.Turns, interval.Errors,
            interval.TtftP50Ms, interval.EndToEndP50Ms, interval.EndToEndP99Ms, redis, silos);
    }

    private static LoadSample Print(LoadSample s)
    {
        var errors = s.Errors > 0 ? $"[red]{s.Errors} errors[/]" : "0 errors";
        var silos = string.Join("; ", s.Silos.Select(m =>
            $"{m.Silo} RSS {Mb(m.RssMb)} heap {Mb(m.GcHeapMb)} POH {Mb(m.PinnedHeapMb)} KV {Mb(m.KvCacheMb)} conv {m.ConversationActivations?.ToString() ?? "?"}"));
        AnsiConsole.MarkupLine($"  {s.Seconds,5:F0} s {s.TokensPerSecond,6:F0} tok/s {s.Turns,4} turns {errors}, TTFT p50 {s.TtftP50Ms:F0} ms, " +
            $"e2e p99 {s.EndToEndP99Ms:F0} ms | {Markup.Escape(silos)} | redis {Mb(s.RedisRssMb)}");
        return s;
    }

    private static string Mb(double? value) => value is { } mb ? $"{mb:F0} MB" : "?";
}
