using System.Net;
using System.Text;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Gateway;

/// <summary>A client that goes away mid-stream frees its batch slot at once (within one decode step).</summary>
public sealed class DisconnectTests(SingleSlotServerFixture server) : IClassFixture<SingleSlotServerFixture>
{
    private const int LongReply = 2000;

    [Fact]
    public async Task A_disconnected_stream_frees_its_slot_within_a_few_decode_steps()
    {
        // A long streamed reply; hang up after a few tokens.
        var body = $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"Tell a very long story."}],"stream":true,"max_tokens":{{LongReply}},"temperature":1,"seed":1,"logit_bias":{{server.BanEndTokens}}}""";
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        // A client that really hangs up: by default HttpClient drains an unread response (up to 1 MB) on dispose
        // to reuse the connection, which would read this whole reply instead of going away.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.BaseAddress };
        var first = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var scheduler = server.Engine.Scheduler;
        var cancelledBefore = scheduler.CancelledSequences;
        var events = new StreamReader(await first.Content.ReadAsStreamAsync());
        await ReadEventAsync(events); // the role chunk
        Assert.DoesNotContain("\"finish_reason\":\"", await ReadEventAsync(events), StringComparison.Ordinal);
        first.Dispose();

        // Kestrel sees the socket close and cancels the request; the scheduler frees the row at the start of the
        // next step (latency 1: the step in flight ends, the next one frees it). The reply had the whole context
        // window to go, so a sequence that ran to its end instead would not count as cancelled.
        await AsyncTimeouts.UntilAsync(() => scheduler.ActiveRows == 0, "the row is freed");
        Assert.Equal(cancelledBefore + 1, scheduler.CancelledSequences);
        Assert.InRange(scheduler.MaxCancelLatencySteps, 0, 1);

        // With one slot, the next request runs only because the slot is free.
        using var second = await server.Client.PostAsync("/v1/chat/completions", new StringContent(
            $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }

    private static async Task<string> ReadEventAsync(StreamReader events)
    {
        var line = await events.ReadLineAsync() ?? throw new EndOfStreamException("the stream ended early");
        await events.ReadLineAsync(); // the blank line that ends the event
        return line;
    }
}
