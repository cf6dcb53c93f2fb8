using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;
using ChatCluster.Tests.Telemetry;

namespace ChatCluster.Tests.Cluster;

/// <summary>
/// A conversation that lives on one silo, served through the other: its reply streams across silos, a client
/// that hangs up frees the batch row on the silo that generates, and the request is one trace on both.
/// </summary>
public sealed class CrossSiloTests(TwoSiloFixture cluster) : IClassFixture<TwoSiloFixture>
{
    [Fact]
    public async Task A_client_that_hangs_up_on_another_silo_frees_the_generating_row_within_a_step()
    {
        // A whole reply of the bundled model takes a fraction of a second: on a loaded machine it may end before
        // the hang-up arrives, and then nothing was cancelled. Such an attempt proves nothing and runs again.
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            if (await HangUpMidReplyAsync())
            {
                return;
            }
        }

        Assert.Fail("In three attempts, every reply ended before the hang-up reached the generating silo.");
    }

    /// <summary>One attempt; false when the reply ended before the hang-up reached the generating silo.</summary>
    private async Task<bool> HangUpMidReplyAsync()
    {
        // Created through the first node, the conversation lives there; its turn runs on whichever engine the router
        // picks, this node's or the other's, so both engines are watched.
        var id = await cluster.First.Client.CreateConversationAsync();
        var schedulers = new[] { cluster.First.Engine.Scheduler, cluster.Second.Engine.Scheduler };
        long Cancelled() => schedulers.Sum(s => s.CancelledSequences);
        long Steps() => schedulers.Max(s => s.Steps);
        var cancelledBefore = Cancelled();
        var stepsBefore = Steps();

        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = cluster.Second.BaseAddress };
        var body = $$"""{"content":"Tell a very long story.","stream":true,"max_tokens":2000,"logit_bias":{{cluster.First.BanEndTokens}}}""";
        var reply = await client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, $"/v1/conversations/{id}/messages") { Content = new StringContent(body, Encoding.UTF8, "application/json") },
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        var events = new StreamReader(await reply.Content.ReadAsStreamAsync());
        Assert.Contains("\"delta\"", await events.ReadLineAsync() ?? "", StringComparison.Ordinal);
        reply.Dispose();

        // The second node's request is aborted, the grain call's cancellation crosses to the first node (the
        // conversation) and on to the generating engine, whose scheduler frees the row at the start of its next step.
        await AsyncTimeouts.UntilAsync(() => schedulers.All(s => s.ActiveRows == 0), "the row on the generating silo is freed");
        var window = cluster.First.Engine.Info.ContextWindow;
        if (Cancelled() == cancelledBefore && Steps() - stepsBefore >= window / 2)
        {
            return false; // the reply ran to the end of the window before the hang-up arrived
        }

        Assert.Equal(cancelledBefore + 1, Cancelled());
        Assert.All(schedulers, s => Assert.InRange(s.MaxCancelLatencySteps, 0, 1));

        // The cut turn stored nothing, and the one row serves the next turn.
        await cluster.Second.Client.SendTurnAsync(id, "Short one.");
        Assert.Equal(3, (await cluster.First.Client.MessagesAsync(id)).Count);
        return true;
    }

    [Fact]
    public async Task A_turn_through_another_silo_is_one_trace_from_the_request_to_the_engine()
    {
        using var spans = new SpanRecorder();
        var id = await cluster.First.Client.CreateConversationAsync();

        await cluster.Second.Client.SendTurnAsync(id, "Define dog");

        // The engine span ran on the first silo; the request arrived at the second. One trace joins them through
        // the grain call, whose client side ran on the second silo and server side on the first (Orleans carries
        // the trace context in its messages).
        Activity? inference = null;
        await AsyncTimeouts.UntilAsync(() => (inference = spans.EngineSpanOfTurn(id)) is not null, "the turn's spans end");
        var chain = spans.Ancestors(inference!).ToList();
        Assert.Equal(SpanRecorder.RequestOperation, chain[^1].OperationName);
        Assert.Contains(chain, a => a.Source.Name == SpanRecorder.OrleansSource && a.Kind == ActivityKind.Client);
        Assert.Contains(chain, a => a.Source.Name == SpanRecorder.OrleansSource && a.Kind == ActivityKind.Server);
    }
}
