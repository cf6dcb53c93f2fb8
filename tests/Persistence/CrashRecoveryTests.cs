using System.Net.Http.Json;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Persistence;

/// <summary>
/// Durability with real processes: a silo on a real redis-server (AOF, fsync always) is killed with SIGKILL
/// and started again, then Redis itself is killed and restarted; every acknowledged turn is still there.
/// </summary>
public sealed class CrashRecoveryTests : RedisPerTest
{
    [Fact]
    public async Task A_silo_killed_with_sigkill_and_started_again_serves_every_conversation_whole()
    {
        // Restarted on its own address, as a node with the same flags is: the new silo supersedes its dead
        // former self in the membership table at once, instead of waiting for it to be voted dead.
        var siloPort = FreePort.Next();
        Dictionary<string, string> before;
        await using (var first = await StartSiloAsync(siloPort))
        {
            before = await ConverseAsync(first, conversations: 4, turns: 2);
            first.Kill();
        }

        await using var second = await StartSiloAsync(siloPort);
        foreach (var (id, json) in before)
        {
            Assert.Equal(json, await SnapshotAsync(second, id));
        }

        // The conversation goes on where it stopped.
        var id0 = before.Keys.First();
        await SendAsync(second, id0, "And one more?");
        Assert.Equal(1 + 3 * 2, Messages(await SnapshotAsync(second, id0)));
    }

    [Fact]
    public async Task Redis_killed_and_restarted_loses_no_acknowledged_turn()
    {
        await using var silo = await StartSiloAsync(FreePort.Next());
        var before = await ConverseAsync(silo, conversations: 3, turns: 2);

        await Redis.KillAsync();
        await Redis.RestartAsync();

        // The silo's connection reconnects; what Redis acknowledged before the kill is all there.
        foreach (var (id, json) in before)
        {
            Assert.Equal(json, await SnapshotAsync(silo, id));
        }

        var id0 = before.Keys.First();
        await SendAsync(silo, id0, "Still there?");

        // And a silo that starts now, after both crashes, reads the same.
        await using var fresh = await StartSiloAsync(FreePort.Next());
        Assert.Equal(1 + 3 * 2, Messages(await SnapshotAsync(fresh, id0)));
    }

    private Task<SiloProcess> StartSiloAsync(int siloPort) =>
        SiloProcess.StartAsync("--model", TestPaths.TinyModel, "--redis", Redis.Endpoint, "--silo-port", siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Creates conversations and runs turns in each; returns each conversation's JSON after the last acknowledged turn.</summary>
    private static async Task<Dictionary<string, string>> ConverseAsync(SiloProcess silo, int conversations, int turns)
    {
        var snapshots = new Dictionary<string, string>();
        for (var c = 0; c < conversations; c++)
        {
            var created = await silo.Client.PostAsJsonAsync("/v1/conversations", new { system = $"You are assistant {c}." });
            created.EnsureSuccessStatusCode();
            var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            for (var t = 0; t < turns; t++)
            {
                await SendAsync(silo, id, $"Question {t} of conversation {c}: what does word{t} mean?");
            }

            snapshots[id] = await SnapshotAsync(silo, id);
            Assert.Equal(1 + 2 * turns, Messages(snapshots[id]));
        }

        return snapshots;
    }

    private static async Task SendAsync(SiloProcess silo, string id, string content)
    {
        var reply = await silo.Client.PostAsJsonAsync($"/v1/conversations/{id}/messages", new { content, max_tokens = 6 });
        Assert.True(reply.IsSuccessStatusCode, $"{(int)reply.StatusCode}: {await reply.Content.ReadAsStringAsync()}\n{silo.Log}");
    }

    private static async Task<string> SnapshotAsync(SiloProcess silo, string id)
    {
        var response = await silo.Client.GetAsync($"/v1/conversations/{id}");
        Assert.True(response.IsSuccessStatusCode, $"GET {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadAsStringAsync();
    }

    private static int Messages(string snapshot) =>
        JsonDocument.Parse(snapshot).RootElement.GetProperty("messages").GetArrayLength();
}
