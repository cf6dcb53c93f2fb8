using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Routing;

/// <summary>A front silo with no engine in its cluster, and an inference silo's HTTP surface, as processes on a real redis-server.</summary>
public sealed class RoleNodeTests : RedisPerTest
{
    [Fact]
    public async Task A_front_with_no_engine_is_alive_not_ready_and_answers_503_with_retry_after_saying_so()
    {
        await using var front = await SiloProcess.StartUnreadyAsync("--role", "front", "--model", TestPaths.TinyModel, "--redis", Redis.Endpoint);

        Assert.Equal(HttpStatusCode.OK, (await front.Client.GetAsync("/livez")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await front.Client.GetAsync("/healthz")).StatusCode);
        using var reply = await front.Client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "tiny-model", messages = new[] { new { role = "user", content = "hi" } } });
        var body = await reply.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, reply.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), reply.Headers.RetryAfter?.Delta);
        Assert.Contains("No inference engine is serving", body, StringComparison.Ordinal);
        Assert.Contains("\"error\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_inference_silo_serves_no_api_and_guards_its_metrics_with_the_keys()
    {
        await using var engine = await SiloProcess.StartAsync(
            "--role", "inference", "--model", TestPaths.TinyModel, "--redis", Redis.Endpoint, "--api-key", "sk-operator");

        Assert.Equal(HttpStatusCode.NotFound, (await engine.Client.GetAsync("/v1/models")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await engine.Client.GetAsync("/metrics")).StatusCode);
        using var keyed = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "sk-operator") } };
        using var metrics = await engine.Client.SendAsync(keyed);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("chatcluster_inference_queue_depth", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
