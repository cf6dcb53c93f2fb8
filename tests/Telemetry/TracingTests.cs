using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ChatCluster.Tests.Telemetry;

/// <summary>
/// OpenTelemetry as an operator would see it: a real silo process configured only by OTEL_* variables exports
/// over OTLP/HTTP to a receiver the test runs, and one conversation turn arrives as one trace through the
/// gateway, the grains and the inference batch.
/// </summary>
public sealed class TracingTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task The_grain_turn_and_the_inference_span_descend_from_the_request_span()
    {
        using var spans = new SpanRecorder();
        var created = await server.Client.PostAsJsonAsync("/v1/conversations", new { system = "Be brief." });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        (await server.Client.PostAsJsonAsync($"/v1/conversations/{id}/messages", new { content = "Define dog", max_tokens = 4 })).EnsureSuccessStatusCode();

        // request → the conversation grain's call → the engine's span, in one trace.
        Activity? inference = null;
        await AsyncTimeouts.UntilAsync(() => (inference = spans.EngineSpanOfTurn(id)) is not null, "the turn's spans end");
        var chain = spans.Ancestors(inference!).ToList();
        Assert.Equal(SpanRecorder.RequestOperation, chain[^1].OperationName);
        Assert.Contains(chain, a => SpanRecorder.IsCallTo(id)(a));
        Assert.NotNull(inference!.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("chat", inference.GetTagItem("gen_ai.operation.name"));

        // Below it: the request's time in the queue, in prefill and in decode, in that order.
        var phases = spans.Children(inference).OrderBy(a => a.StartTimeUtc).Select(a => a.DisplayName);
        Assert.Equal(["inference.queue", "inference.prefill", "inference.decode"], phases);

        // And the batch steps that decoded it, each a span of its own linked to the request.
        Assert.Contains(spans.All, a => a.DisplayName == "inference.step" && a.Links.Any(link => link.Context.SpanId == inference.SpanId));
    }

    [Fact]
    public async Task A_conversation_turn_is_exported_over_otlp_as_one_trace_with_its_logs()
    {
        var received = new ConcurrentDictionary<string, ConcurrentQueue<byte[]>>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var receiver = builder.Build();
        receiver.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.GetOrAdd(signal, _ => new()).Enqueue(body.ToArray());
            return Results.Ok();
        });
        await receiver.StartAsync();
        var endpoint = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        await using var silo = await SiloProcess.StartAsync(
            new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_SERVICE_NAME"] = "silo-under-test",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
                ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            },
            "--model", TestPaths.TinyModel);

        var created = await silo.Client.PostAsJsonAsync("/v1/conversations", new { system = "Be brief." });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        // The caller starts the trace (W3C traceparent): every span and log of the turn carries its id.
        var traceId = ActivityTraceId.CreateRandom();
        using var turn = new HttpRequestMessage(HttpMethod.Post, $"/v1/conversations/{id}/messages")
        {
            Content = JsonContent.Create(new { content = "What does cat mean?", max_tokens = 4 }),
            Headers = { { "traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01" } },
        };
        (await silo.Client.SendAsync(turn)).EnsureSuccessStatusCode();

        // OTLP protobuf carries names and attributes as UTF-8 strings and trace ids as their 16 raw bytes.
        var traceIdBytes = Convert.FromHexString(traceId.ToHexString());
        // Spans of one trace may be exported in several batches: each text must be in a batch of the trace.
        bool Exported(string signal, params string[] texts) => received.TryGetValue(signal, out var batches) && texts.All(text =>
            batches.Any(batch => batch.AsSpan().IndexOf(traceIdBytes) >= 0 && Contains(batch, text)));
        await AsyncTimeouts.UntilAsync(
            () => Exported("traces", "silo-under-test", "POST /v1/conversations/{id}/messages", "Microsoft.Orleans.Application", "inference.chat", "inference.decode"),
            "the turn's spans are exported in its trace",
            TimeSpan.FromSeconds(30));
        await AsyncTimeouts.UntilAsync(
            () => Exported("logs", "silo-under-test", "turn committed", id),
            "the turn's log record is exported with its trace id",
            TimeSpan.FromSeconds(30));
        Assert.False(received["logs"].Any(batch => Contains(batch, "What does cat mean?")), "no message text in the logs");
        Assert.False(received["traces"].Any(batch => Contains(batch, "What does cat mean?")), "no message text in the spans");
    }

    private static bool Contains(byte[] haystack, string text) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
