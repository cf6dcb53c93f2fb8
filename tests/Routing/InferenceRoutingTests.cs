using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ChatCluster.Tests.Routing;

/// <summary>
/// The split deployment as users run it: one front silo (gateway and conversations, no model) and two
/// inference silos, each a process, on one redis-server. What the front loads, where turns go, and how
/// stateless streams spread, read from the front's own routing counter.
/// </summary>
public sealed class InferenceRoutingTests(RoleCluster cluster, ITestOutputHelper output) : IClassFixture<RoleCluster>
{
    private const long FrontMemoryBudget = 150L * 1024 * 1024;

    [Fact]
    public async Task The_front_maps_no_onnx_runtime_and_stays_under_150_MB_while_it_serves()
    {
        var id = await cluster.Front.Client.CreateConversationAsync();
        for (var turn = 0; turn < 3; turn++)
        {
            await cluster.Front.Client.SendTurnAsync(id, $"Define word {turn}.", maxTokens: 8);
        }

        using var stateless = await cluster.Front.Client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "tiny-model", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 4 });
        Assert.Equal(HttpStatusCode.OK, stateless.StatusCode);

        var maps = await File.ReadAllTextAsync($"/proc/{cluster.Front.ProcessId}/maps");
        Assert.DoesNotContain("onnxruntime", maps, StringComparison.OrdinalIgnoreCase);
        var engineMaps = await File.ReadAllTextAsync($"/proc/{cluster.Engines[0].ProcessId}/maps");
        Assert.Contains("libonnxruntime", engineMaps, StringComparison.Ordinal); // the check can see a mapped library
        var resident = cluster.Front.ResidentBytes;
        output.WriteLine($"front RSS after serving: {resident / 1048576.0:F0} MB");
        Assert.True(resident < FrontMemoryBudget, $"the front's RSS is {resident / 1048576.0:F0} MB");
    }

    [Fact]
    public async Task Turns_two_and_three_go_to_the_engine_holding_the_cache_and_prefill_only_new_tokens()
    {
        var before = await cluster.RoutingDecisionsAsync();
        var conversations = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => cluster.Front.Client.CreateConversationAsync()));
        var prefilledOnlyNew = 0;
        (int Prompt, int Cached)[] previous = [];
        for (var turn = 1; turn <= 3; turn++)
        {
            var usages = await Task.WhenAll(conversations.Select(id => TurnUsageAsync(id, $"Define lantern, turn {turn}.")));
            if (turn > 1)
            {
                // The kept cache covers at least the whole previous prompt: only the last reply's tail and this
                // turn's message are prefilled.
                prefilledOnlyNew += usages.Zip(previous).Count(p => p.First.Cached >= p.Second.Prompt);
            }

            previous = usages;
        }

        var routed = RoleCluster.Since(before, await cluster.RoutingDecisionsAsync());
        output.WriteLine(string.Join(", ", routed.Select(kv => $"{kv.Key.Reason}@{kv.Key.Engine}: {kv.Value}")));
        var byCache = routed.Where(kv => kv.Key.Reason == "cache").Sum(kv => kv.Value);
        Assert.Equal(60, routed.Values.Sum());
        Assert.True(byCache >= 36, $"{byCache} of the 40 later turns were routed to the engine holding their cache");
        Assert.True(prefilledOnlyNew >= 36, $"{prefilledOnlyNew} of 40 later turns prefilled only their new tokens");
        Assert.Equal(2, routed.Keys.Select(k => k.Engine).Distinct().Count()); // first turns went to both engines
    }

    [Fact]
    public async Task Thirty_two_concurrent_stateless_streams_spread_over_both_engines_no_worse_than_60_40()
    {
        var before = await cluster.RoutingDecisionsAsync();
        var streams = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => StreamStatelessAsync($"Tell story number {i}.")));

        Assert.All(streams, s => Assert.True(s, "a stream did not end with [DONE]"));
        var routed = RoleCluster.Since(before, await cluster.RoutingDecisionsAsync());
        var perEngine = routed.GroupBy(kv => kv.Key.Engine).Select(g => g.Sum(kv => kv.Value)).ToArray();
        output.WriteLine(string.Join(", ", routed.Select(kv => $"{kv.Key.Reason}@{kv.Key.Engine}: {kv.Value}")));
        Assert.Equal(32, perEngine.Sum());
        Assert.Equal(2, perEngine.Length);
        Assert.InRange(perEngine.Max(), 16, 19); // 60% of 32 is 19.2
    }

    private async Task<(int Prompt, int Cached)> TurnUsageAsync(string id, string content)
    {
        using var reply = await cluster.Front.Client.PostAsJsonAsync($"/v1/conversations/{id}/messages", new { content, max_tokens = 6 });
        var body = await reply.Content.ReadAsStringAsync();
        Assert.True(reply.IsSuccessStatusCode, $"turn: {(int)reply.StatusCode} {body}");
        var usage = JsonDocument.Parse(body).RootElement.GetProperty("usage");
        return (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
    }

    private async Task<bool> StreamStatelessAsync(string content)
    {
        var body = $$"""{"model":"tiny-model","stream":true,"max_tokens":40,"logit_bias":{{StreamingTurns.BanEndTokens}},"messages":[{"role":"user","content":"{{content}}"}]}""";
        using var response = await cluster.Front.Client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") },
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        return StreamingTurns.Finished(await StreamingTurns.ReadToEndAsync(reader, TimeSpan.FromSeconds(60)));
    }
}
