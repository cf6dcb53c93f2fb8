using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ChatCluster.Tests.Cluster;

/// <summary>
/// Three silo processes on one redis-server, driven over HTTP as users drive them: any node serves any
/// conversation, turns sent through different nodes at once all land in order, a silo killed with SIGKILL
/// costs its conversations a second or two and nothing acknowledged, and a Redis crash loses nothing.
/// </summary>
public sealed class ClusterTests(ClusterFixture cluster, ITestOutputHelper output) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task A_conversation_continues_through_every_node_and_concurrent_turns_through_all_three_land_in_order()
    {
        var id = await cluster.Nodes[0].Client.CreateConversationAsync();
        for (var n = 0; n < ClusterFixture.Size; n++)
        {
            await cluster.Nodes[n].Client.SendTurnAsync(id, $"Turn through node {n}");
        }

        Assert.Equal(1 + 2 * ClusterFixture.Size, (await cluster.Nodes[2].Client.MessagesAsync(id)).Count);

        // Eight turns at once, spread over the three nodes: the grain runs them one at a time wherever it lives.
        var fresh = await cluster.Nodes[1].Client.CreateConversationAsync();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            using var reply = await cluster.Nodes[i % ClusterFixture.Size].Client.PostAsJsonAsync(
                $"/v1/conversations/{fresh}/messages", new { content = $"Question {i}", max_tokens = 3 });
            return reply.StatusCode;
        }));

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        var messages = await cluster.Nodes[0].Client.MessagesAsync(fresh);
        Assert.Equal(1 + 16, messages.Count);
        var turns = messages.Skip(1).Chunk(2).ToList();
        Assert.All(turns, turn => Assert.Equal(["user", "assistant"], turn.Select(m => m.Role)));
        Assert.Equal(
            Enumerable.Range(0, 8).Select(i => $"Question {i}").Order(),
            turns.Select(turn => turn[0].Content).Order());
    }

    [Fact]
    public async Task Killing_the_silo_that_holds_a_conversation_costs_seconds_and_no_turn()
    {
        // Conversations are placed on the node whose gateway created them (PreferLocalPlacement): these live on the victim.
        var victim = await cluster.StartNodeAsync();
        var ids = new List<string>();
        for (var c = 0; c < 4; c++)
        {
            var id = await victim.Client.CreateConversationAsync();
            await victim.Client.SendTurnAsync(id, "Before the crash.");
            ids.Add(id);
        }

        var before = await Task.WhenAll(ids.Select(id => cluster.Nodes[0].Client.MessagesAsync(id)));

        var killedAt = Stopwatch.StartNew();
        victim.Kill();

        // Requests that race the death, through both survivors: each is served (retried inside the server) or
        // refused with 503 and Retry-After; none fails with a 500 and none hangs (the client gives up after 60 s).
        var raced = await Task.WhenAll(ids.Select(async (id, i) =>
        {
            using var reply = await cluster.Nodes[i % 2].Client.PostAsJsonAsync($"/v1/conversations/{id}/messages", new { content = "During the crash.", max_tokens = 3 });
            return (reply.StatusCode, RetryAfter: reply.Headers.RetryAfter is not null, Body: await reply.Content.ReadAsStringAsync());
        }));
        var firstServed = killedAt.Elapsed;
        output.WriteLine($"all {ids.Count} raced turns answered {firstServed.TotalSeconds:F2} s after the SIGKILL: {string.Join(", ", raced.Select(r => (int)r.StatusCode))}");
        foreach (var (status, retryAfter, body) in raced)
        {
            Assert.True(status is HttpStatusCode.OK || (status is HttpStatusCode.ServiceUnavailable && retryAfter), $"{(int)status}: {body}");
        }

        Assert.True(firstServed < TimeSpan.FromSeconds(10), $"the survivors took {firstServed.TotalSeconds:F1} s after the kill");

        // Every conversation holds exactly its acknowledged turns, and goes on through a survivor.
        for (var c = 0; c < ids.Count; c++)
        {
            var messages = await cluster.Nodes[2].Client.MessagesAsync(ids[c]);
            var served = raced[c].StatusCode == HttpStatusCode.OK ? 2 : 0;
            Assert.Equal(before[c].Count + served, messages.Count);
            Assert.Equal(before[c], messages.Take(before[c].Count));
            await cluster.Nodes[1].Client.SendTurnAsync(ids[c], "After the crash.");
        }
    }

    [Fact]
    public async Task Redis_down_is_a_503_with_retry_after_and_after_its_restart_nothing_acknowledged_is_lost()
    {
        var ids = new List<string>();
        for (var n = 0; n < ClusterFixture.Size; n++)
        {
            var id = await cluster.Nodes[n].Client.CreateConversationAsync();
            await cluster.Nodes[n].Client.SendTurnAsync(id, $"Stored through node {n}.");
            ids.Add(id);
        }

        var before = await Task.WhenAll(ids.Select(id => cluster.Nodes[0].Client.MessagesAsync(id)));

        await cluster.Redis.KillAsync();

        // While Redis is down, a turn cannot be committed: the caller is told to come back, promptly.
        var refusedAt = Stopwatch.StartNew();
        using (var refused = await cluster.Nodes[1].Client.PostAsJsonAsync($"/v1/conversations/{ids[0]}/messages", new { content = "Redis is down.", max_tokens = 3 }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Contains("unavailable", await refused.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }

        output.WriteLine($"a turn with Redis down was refused after {refusedAt.Elapsed.TotalSeconds:F1} s");
        Assert.True(refusedAt.Elapsed < TimeSpan.FromSeconds(20), $"refused after {refusedAt.Elapsed.TotalSeconds:F1} s");
        await cluster.Redis.RestartAsync();

        // Each node serves each conversation again, whole, and takes new turns (retries cover the reconnect).
        foreach (var node in cluster.Nodes)
        {
            for (var c = 0; c < ids.Count; c++)
            {
                Assert.Equal(before[c], (await node.Client.MessagesAsync(ids[c])).Take(before[c].Count));
            }
        }

        for (var c = 0; c < ids.Count; c++)
        {
            await cluster.Nodes[(c + 1) % ClusterFixture.Size].Client.SendTurnAsync(ids[c], "After Redis came back.");
            Assert.Equal(before[c].Count + 2, (await cluster.Nodes[c].Client.MessagesAsync(ids[c])).Count);
        }
    }
}
