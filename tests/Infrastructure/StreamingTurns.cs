using System.Net;
using System.Text;

namespace ChatCluster.Tests.Infrastructure;

/// <summary>Long streamed turns, read line by line, for tests that stop a silo while replies stream.</summary>
public static class StreamingTurns
{
    /// <summary>The test model's end tokens as a logit_bias object that bans them, so replies run to their limit.</summary>
    public static string BanEndTokens => Banned.Value;

    private static readonly Lazy<string> Banned = new(() =>
    {
        using var engine = ChatCluster.Inference.InferenceEngine.Load(TestPaths.TinyModel, ChatCluster.Inference.Model.ExecutionDevice.Cpu);
        return "{" + string.Join(',', engine.EndTokenIds.Select(id => $"\"{id}\":-100")) + "}";
    });

    /// <summary>A streamed turn of <paramref name="maxTokens"/> tokens, end tokens banned, read line by line.</summary>
    public static async Task<StreamReader> OpenStreamAsync(HttpClient through, string id, int maxTokens = 120)
    {
        var body = $$"""{"content":"Tell a very long story.","stream":true,"max_tokens":{{maxTokens}},"logit_bias":{{BanEndTokens}}}""";
        var response = await through.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, $"/v1/conversations/{id}/messages") { Content = new StringContent(body, Encoding.UTF8, "application/json") },
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new StreamReader(await response.Content.ReadAsStreamAsync());
    }

    /// <summary>Every non-blank line until the stream closes (or the bound passes: a hang fails the test).</summary>
    public static async Task<List<string>> ReadToEndAsync(StreamReader stream, TimeSpan bound)
    {
        var lines = new List<string>();
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            while (await stream.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.Length > 0)
                {
                    lines.Add(line);
                }
            }
        }
        catch (IOException)
        {
            // The connection was cut rather than closed: the stream ended all the same.
        }

        Assert.False(timeout.IsCancellationRequested, "the stream did not end within " + bound);
        return lines;
    }

    public static bool Finished(List<string> lines) => lines.Contains("data: [DONE]");

    public static bool Failed(List<string> lines) => lines.Any(line => line.StartsWith("data: {\"error\"", StringComparison.Ordinal));

    /// <summary>
    /// Long stateless replies through <paramref name="node"/>, one after another, until cancelled (or the node or
    /// its engines die): keeps engines busy, so that replies of the test model last long enough to be cut.
    /// </summary>
    public static async Task KeepBusyAsync(HttpClient node, CancellationToken cancellationToken)
    {
        var body = $$"""{"model":"tiny-model","messages":[{"role":"user","content":"Go on."}],"max_tokens":100,"logit_bias":{{BanEndTokens}}}""";
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                using var reply = await node.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), cancellationToken);
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            // The node was killed, or the test is done with it.
        }
    }
}
