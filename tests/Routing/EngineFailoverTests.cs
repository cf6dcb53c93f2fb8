using System.Diagnostics;
using ChatCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ChatCluster.Tests.Routing;

/// <summary>
/// An inference silo that dies or is stopped while replies stream through a front silo (each test its own
/// cluster of processes: one front, two inference silos, one redis-server).
/// </summary>
public sealed class EngineFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Conversations = 6;

    private readonly RoleCluster _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task Killing_an_inference_silo_ends_its_streams_with_an_error_and_the_next_turns_go_to_the_survivor()
    {
        var front = _cluster.Front.Client;
        var before = await _cluster.RoutingDecisionsAsync();
        var ids = await StartConversationsAsync();
        output.WriteLine("first turns: " + string.Join(", ", RoleCluster.Since(before, await _cluster.RoutingDecisionsAsync()).Select(kv => $"{kv.Key.Reason}@{kv.Key.Engine}: {kv.Value}")));
        output.WriteLine($"killing the inference silo at {_cluster.Engines[0].BaseAddress}");

        // A reply of the test model takes a fraction of a second: both engines are kept busy with long stateless
        // replies, and the engine to be killed runs only in short slices until every reply has begun, so that its
        // replies are still streaming when the kill lands (without the slices, on a loaded machine they had all
        // finished before it, 1 run in 6).
        using var load = new CancellationTokenSource();
        var busy = Enumerable.Range(0, 16).Select(_ => StreamingTurns.KeepBusyAsync(front, load.Token)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(0.5));
        using var begun = new CancellationTokenSource();
        var slices = _cluster.Engines[0].RunInSlicesAsync(begun.Token);
        var streams = await Task.WhenAll(ids.Select(id => StreamingTurns.OpenStreamAsync(front, id, maxTokens: 200)));
        foreach (var stream in streams)
        {
            Assert.StartsWith("data: {\"delta\"", await stream.ReadLineAsync(), StringComparison.Ordinal);
        }

        await begun.CancelAsync();
        await slices;
        var sinceKill = Stopwatch.StartNew();
        _cluster.Engines[0].Kill();
        await load.CancelAsync();
        await Task.WhenAll(busy);
        var ends = await Task.WhenAll(streams.Select(s => StreamingTurns.ReadToEndAsync(s, TimeSpan.FromSeconds(30))));
        output.WriteLine($"streams ended {sinceKill.Elapsed.TotalSeconds:F1} s after the kill: " +
            $"{ends.Count(StreamingTurns.Failed)} with an error event, {ends.Count(StreamingTurns.Finished)} finished");
        Assert.All(ends, e => Assert.True(StreamingTurns.Finished(e) ^ StreamingTurns.Failed(e), string.Join(" | ", e.TakeLast(2))));
        Assert.Contains(ends, StreamingTurns.Failed); // the first turns were spread over both engines

        // Every conversation's next turn is served (by the survivor) within 10 s of the kill.
        await Task.WhenAll(ids.Select(id => front.SendTurnAsync(id, "After the crash.")));
        output.WriteLine($"next turns served {sinceKill.Elapsed.TotalSeconds:F1} s after the kill");
        Assert.True(sinceKill.Elapsed < TimeSpan.FromSeconds(10), $"the next turns took {sinceKill.Elapsed.TotalSeconds:F1} s");

        // Histories are exact: the cut turn is not stored, a finished one is, and the new turn follows.
        foreach (var (id, end) in ids.Zip(ends))
        {
            var users = (await front.MessagesAsync(id)).Where(m => m.Role == "user").Select(m => m.Content);
            string[] expected = StreamingTurns.Finished(end)
                ? ["First, acknowledged.", "Tell a very long story.", "After the crash."]
                : ["First, acknowledged.", "After the crash."];
            Assert.Equal(expected, users);
        }
    }

    [Fact]
    public async Task Sigterm_of_an_inference_silo_drains_it_every_stream_finishes_and_new_turns_go_elsewhere()
    {
        var front = _cluster.Front.Client;
        var ids = await StartConversationsAsync();
        var streams = await Task.WhenAll(ids.Select(id => StreamingTurns.OpenStreamAsync(front, id, maxTokens: 200)));
        var reading = streams.Select(s => StreamingTurns.ReadToEndAsync(s, TimeSpan.FromSeconds(60))).ToArray();

        var terminating = _cluster.Engines[0].TerminateAsync(TimeSpan.FromSeconds(45));
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // the routers have read "draining"
        var before = await _cluster.RoutingDecisionsAsync();
        await Task.WhenAll(ids.Select(id => front.SendTurnAsync(id, "While it drains.")));
        var routed = RoleCluster.Since(before, await _cluster.RoutingDecisionsAsync());

        var ends = await Task.WhenAll(reading);
        var (took, exitCode) = await terminating;
        output.WriteLine($"drained silo exited with {exitCode} after {took.TotalSeconds:F1} s; turns during the drain: " +
            string.Join(", ", routed.Select(kv => $"{kv.Key.Reason}@{kv.Key.Engine}: {kv.Value}")));
        Assert.Equal(0, exitCode);
        Assert.All(ends, e => Assert.True(StreamingTurns.Finished(e), "a stream was lost: " + string.Join(" | ", e.TakeLast(2))));
        Assert.Single(routed.Keys.Select(k => k.Engine).Distinct());
        foreach (var id in ids)
        {
            var users = (await front.MessagesAsync(id)).Where(m => m.Role == "user").Select(m => m.Content);
            Assert.Equal(["First, acknowledged.", "Tell a very long story.", "While it drains."], users); // turns keep their order
        }
    }

    /// <summary>Conversations with one acknowledged turn each, spread over both engines by the router.</summary>
    private async Task<string[]> StartConversationsAsync()
    {
        var ids = await Task.WhenAll(Enumerable.Range(0, Conversations).Select(_ => _cluster.Front.Client.CreateConversationAsync()));
        await Task.WhenAll(ids.Select(id => _cluster.Front.Client.SendTurnAsync(id, "First, acknowledged.")));
        return ids;
    }
}
