using System.Net;
using System.Net.Sockets;
using System.Text;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Gateway;

/// <summary>
/// A client that stops reading its stream (a slow consumer) on a server with one batch row: the reply is
/// generated to its end into bounded buffers (the sequence's deltas are bounded by the context window, the
/// gateway's by a bounded channel and Kestrel's response buffer), so the row is freed when the reply is done,
/// not when the client reads it; the next request is served meanwhile.
/// </summary>
public sealed class SlowConsumerTests(SingleSlotServerFixture server) : IClassFixture<SingleSlotServerFixture>
{
    [Fact]
    public async Task A_client_that_stops_reading_does_not_hold_its_batch_row()
    {
        var scheduler = server.Engine.Scheduler;
        var stepsBefore = scheduler.Steps;
        var body = $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"Tell a very long story."}],"stream":true,"max_tokens":2000,"logit_bias":{{server.BanEndTokens}}}""";

        // A raw socket that sends the request and then never reads a byte of the answer.
        using var stalled = new TcpClient();
        await stalled.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var request = $"POST /v1/chat/completions HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nContent-Type: application/json\r\n" +
            $"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";
        await stalled.GetStream().WriteAsync(Encoding.UTF8.GetBytes(request));

        // The reply runs to the end of the context window and leaves the row, unread.
        await AsyncTimeouts.UntilAsync(() => scheduler.Steps - stepsBefore > 10 && scheduler.ActiveRows == 0, "the stalled reply leaves its row");

        // With its only row free, the server serves the next caller while the first still has not read.
        using var next = await server.Client.PostAsync("/v1/chat/completions", new StringContent(
            $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.True(stalled.Connected);
    }
}
