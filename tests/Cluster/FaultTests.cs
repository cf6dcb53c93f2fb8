using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ChatCluster.Tests.Cluster;

/// <summary>
/// Faults while a reply streams, with real processes on one redis-server, stated as what the user sees: the
/// silo generating it is killed (the stream ends with an error event within seconds, the turn is not stored,
/// the next turn works on a survivor), or stopped with SIGTERM (the process exits within its bound and the
/// stream ends cleanly, stored if and only if it finished).
/// </summary>
public sealed class FaultTests(ITestOutputHelper output) : RedisPerTest
{
    [Fact]
    public async Task Killing_the_silo_that_streams_a_reply_ends_the_stream_with_an_error_event_and_stores_nothing()
    {
        await using var survivor = await StartAsync();

        // A reply of the test model takes a few milliseconds, so the kill must land while one streams: the
        // victim is kept busy with other long replies, and an attempt whose reply finished first is run again.
        for (var attempt = 1; ; attempt++)
        {
            await using var victim = await StartAsync();
            var id = await victim.Client.CreateConversationAsync();
            await victim.Client.SendTurnAsync(id, "First, acknowledged.");
            using var load = new CancellationTokenSource();
            var busy = Enumerable.Range(0, 16).Select(_ => StreamingTurns.KeepBusyAsync(victim.Client, load.Token)).ToList();

            // A long reply streamed through the survivor from the victim, which generates it.
            using var stream = await StreamingTurns.OpenStreamAsync(survivor.Client, id);
            Assert.StartsWith("data: {\"delta\"", await stream.ReadLineAsync(), StringComparison.Ordinal);
            var killedAt = Stopwatch.StartNew();
            victim.Kill();
            await load.CancelAsync();
            await Task.WhenAll(busy);

            var rest = await StreamingTurns.ReadToEndAsync(stream, TimeSpan.FromSeconds(30));
            var sinceKill = killedAt.Elapsed;

            // The turn may have finished, and been committed, just before the kill (its generation can run on the
            // survivor's engine, which the kill does not slow): then the kill cut nothing that was still running.
            var stored = (await survivor.Client.MessagesAsync(id)).Any(m => m.Content == "Tell a very long story.");
            if ((rest.Contains("data: [DONE]") || stored) && attempt < 3)
            {
                output.WriteLine($"attempt {attempt}: the reply finished before the kill ({(stored ? "stored" : "[DONE] seen")}); again");
                continue;
            }

            output.WriteLine($"the stream ended {sinceKill.TotalSeconds:F2} s after the kill");
            Assert.True(sinceKill < TimeSpan.FromSeconds(15), $"the stream took {sinceKill.TotalSeconds:F1} s to end");
            var error = rest.LastOrDefault(line => line.StartsWith("data: {\"error\"", StringComparison.Ordinal));
            Assert.True(error is not null, "no error event before the end: " + string.Join(" | ", rest.TakeLast(3)));
            Assert.DoesNotContain("data: [DONE]", rest);

            // The cut turn was never acknowledged, so it is not stored; the next turn works on the survivor.
            await survivor.Client.SendTurnAsync(id, "After the crash.");
            var contents = (await survivor.Client.MessagesAsync(id)).Select(m => m.Content).ToList();
            Assert.Equal(["First, acknowledged.", "After the crash."], contents.Where((_, i) => i % 2 == 1));
            return;
        }
    }

    [Fact]
    public async Task Sigterm_ends_a_streaming_turn_cleanly_writes_what_finished_and_exits_within_its_bound()
    {
        await using var silo = await StartAsync();
        var id = await silo.Client.CreateConversationAsync();
        await silo.Client.SendTurnAsync(id, "First, acknowledged.");
        using var stream = await StreamingTurns.OpenStreamAsync(silo.Client, id);
        Assert.StartsWith("data: {\"delta\"", await stream.ReadLineAsync(), StringComparison.Ordinal);

        var reading = StreamingTurns.ReadToEndAsync(stream, TimeSpan.FromSeconds(60));
        var (took, exitCode) = await silo.TerminateAsync(TimeSpan.FromSeconds(45));
        var rest = await reading;
        output.WriteLine($"exited with {exitCode} {took.TotalSeconds:F2} s after SIGTERM; the stream ended with: {rest.LastOrDefault()}");

        Assert.Equal(0, exitCode);
        Assert.True(took < TimeSpan.FromSeconds(11), $"took {took.TotalSeconds:F1} s to exit"); // --drain-seconds 5 + 5 s
        var finished = rest.Contains("data: [DONE]");
        var failed = rest.Any(line => line.StartsWith("data: {\"error\"", StringComparison.Ordinal));
        Assert.True(finished ^ failed, "the stream ends with [DONE] or with an error event: " + string.Join(" | ", rest.TakeLast(3)));

        // A fresh node reads what was acknowledged: the cut turn only if the client saw it finish.
        await using var next = await StartAsync();
        var contents = (await next.Client.MessagesAsync(id)).Select(m => m.Content).ToList();
        Assert.Equal(finished ? 5 : 3, contents.Count);
    }

    [Fact]
    public async Task With_redis_gone_sigterm_still_ends_the_silo_within_ten_seconds_and_a_stream_in_flight_ends_with_an_error()
    {
        await using var silo = await StartAsync();
        var id = await silo.Client.CreateConversationAsync();
        await silo.Client.SendTurnAsync(id, "First, acknowledged.");
        await Redis.KillAsync();

        // The conversation is active, so its turn runs; it can only end with an error, since its commit cannot be stored.
        using var stream = await StreamingTurns.OpenStreamAsync(silo.Client, id);
        var reading = StreamingTurns.ReadToEndAsync(stream, TimeSpan.FromSeconds(30));
        var (took, exitCode) = await silo.TerminateAsync(TimeSpan.FromSeconds(30));
        var rest = await reading;
        output.WriteLine($"exited with {exitCode} {took.TotalSeconds:F2} s after SIGTERM; the stream ended with: {rest.LastOrDefault()}");

        // 0 when the silo left in time anyway, 2 when the bound ran out (Hosting/ShutdownBound.cs); 10 s is the bound.
        Assert.Contains(exitCode, new[] { 0, 2 });
        Assert.True(took < TimeSpan.FromSeconds(11), $"took {took.TotalSeconds:F1} s to exit");
        Assert.True(StreamingTurns.Failed(rest), "no error event: " + string.Join(" | ", rest.TakeLast(3)));
        Assert.False(StreamingTurns.Finished(rest));
    }

    private Task<SiloProcess> StartAsync() =>
        SiloProcess.StartAsync("--model", TestPaths.TinyModel, "--redis", Redis.Endpoint);
}
