using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatCluster.Inference;

namespace ChatCluster.Bench;

/// <summary>
/// One client of the conversation API: creates a conversation, sends one streamed turn and times the SSE events
/// as they arrive; or one streamed OpenAI chat completion (the stack mode, <paramref name="model"/> needed).
/// Delta events are recognised by their prefix (or, in a completion chunk, by a substring) rather than parsed:
/// the client shares the machine with the servers, so it stays light; only the final and error events are parsed.
/// </summary>
internal sealed class SseTurnClient(HttpClient http, int maxTokens, IEnumerable<int> bannedTokens, string? model = null, int openingSentences = 0)
{
    /// <summary>The opening message's sentence: about a dozen tokens, which the chat template encodes the same way every turn.</summary>
    private const string OpeningSentence = "The river runs past the old mill and down into the sea.";

    /// <summary>
    /// A conversation's first turn before a timed second one: a long message (<c>openingSentences</c>) with a short
    /// reply, so that the history the second turn brings is mostly text whose tokens a kept cache holds exactly
    /// (a reply is re-encoded from its text, which need not give back the ids it was sampled as).
    /// </summary>
    private readonly string _openingBody = JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["content"] = string.Join(' ', Enumerable.Repeat(OpeningSentence, Math.Max(1, openingSentences))),
        ["stream"] = true,
        ["max_tokens"] = 8,
        ["logit_bias"] = BiasOf(bannedTokens), // an empty reply would be a turn without a delta, counted as a failure
    });

    /// <summary>A turn that has not ended by then counts as an error instead of holding up the round forever.</summary>
    private static readonly TimeSpan TurnTimeout = TimeSpan.FromMinutes(2);

    private const string SystemPrompt = "You are a helpful assistant.";

    private const string UserMessage = "Tell me a story about a river.";

    private readonly string _sendBody = JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["content"] = UserMessage,
        ["stream"] = true,
        ["max_tokens"] = maxTokens,
        // Banned end tokens make every reply run to max_tokens, so every round generates the same work.
        ["logit_bias"] = BiasOf(bannedTokens),
    });

    /// <summary>The same turn as one stateless OpenAI chat completion: same messages, length and banned tokens, usage asked for.</summary>
    private readonly string _completionBody = JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["model"] = model ?? "",
        ["messages"] = new[] { new { role = ChatMessage.System, content = SystemPrompt }, new { role = ChatMessage.User, content = UserMessage } },
        ["stream"] = true,
        ["stream_options"] = new { include_usage = true },
        ["max_tokens"] = maxTokens,
        ["logit_bias"] = BiasOf(bannedTokens),
    });

    private static Dictionary<string, int> BiasOf(IEnumerable<int> bannedTokens) =>
        bannedTokens.ToDictionary(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture), _ => -100);

    /// <summary>The messages the server's prompt is built from, for checking it fits the context window.</summary>
    public static IReadOnlyList<ChatMessage> PromptMessages => [new(ChatMessage.System, SystemPrompt), new(ChatMessage.User, UserMessage)];

    public async Task<TurnResult> RunAsync(HttpTarget target, CancellationToken cancellationToken) =>
        (await RunAsync(target, null, cancellationToken)).Turn;

    /// <summary>
    /// A new conversation's first turn, untimed, then its second, timed: where the conversation's kept KV cache
    /// is (or is not) reused, which is what routing decides.
    /// </summary>
    public async Task<TurnResult> RunSecondTurnAsync(HttpTarget target, CancellationToken cancellationToken)
    {
        var (id, first) = await RunAsync(target, null, openingSentences > 0 ? _openingBody : _sendBody, cancellationToken);
        return id is null || first.Error is not null ? first : (await RunAsync(target, id, cancellationToken)).Turn;
    }

    /// <summary>
    /// A turn of conversation <paramref name="id"/>, or of a new one when it is null (the load mode keeps a
    /// conversation for several turns); the conversation's id comes back with the turn, null if creating failed.
    /// </summary>
    public Task<(string? Id, TurnResult Turn)> RunAsync(HttpTarget target, string? id, CancellationToken cancellationToken) =>
        RunAsync(target, id, _sendBody, cancellationToken);

    private async Task<(string? Id, TurnResult Turn)> RunAsync(HttpTarget target, string? id, string body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TurnTimeout);
        var step = "create";
        try
        {
            id ??= await CreateAsync(target.Create, timeout.Token);
            step = "send";
            return (id, await SendAsync(new Uri(target.Send, $"v1/conversations/{id}/messages"), body, completion: false, timeout.Token));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (id, TurnResult.Failed($"{step}: timed out after {TurnTimeout.TotalSeconds:F0} s"));
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or ApiFailure)
        {
            return (id, TurnResult.Failed($"{step}: {e.Message}"));
        }
    }

    /// <summary>One streamed POST /v1/chat/completions to <paramref name="node"/> (no conversation, nothing stored).</summary>
    public async Task<TurnResult> RunCompletionAsync(Uri node, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TurnTimeout);
        try
        {
            return await SendAsync(new Uri(node, "v1/chat/completions"), _completionBody, completion: true, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TurnResult.Failed($"completion: timed out after {TurnTimeout.TotalSeconds:F0} s");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or ApiFailure)
        {
            return TurnResult.Failed($"completion: {e.Message}");
        }
    }

    private async Task<string> CreateAsync(Uri node, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(new Uri(node, "v1/conversations"), new { system = SystemPrompt }, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        return body.RootElement.TryGetProperty("id", out var id) && id.GetString() is { } text
            ? text
            : throw new ApiFailure($"no id in {body.RootElement.GetRawText()}");
    }

    /// <summary>
    /// Posts <paramref name="body"/> and times the stream. A token is a conversation <c>{"delta": ...}</c> event,
    /// or (<paramref name="completion"/>) a chunk whose delta starts with content; the role chunk and the
    /// finish-reason chunk before the usage chunk are skipped.
    /// </summary>
    private async Task<TurnResult> SendAsync(Uri url, string body, bool completion, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        var sent = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        double? ttft = null;
        var last = sent;
        var gaps = new List<double>(maxTokens);
        int? completionTokens = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue; // the blank line between events
            }

            var now = Stopwatch.GetTimestamp();
            var data = line.AsMemory(6);
            if (completion ? data.Span.Contains("\"delta\":{\"content\"", StringComparison.Ordinal) : data.Span.StartsWith("{\"delta\"", StringComparison.Ordinal))
            {
                if (ttft is null)
                {
                    ttft = Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds;
                }
                else
                {
                    gaps.Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
                }

                last = now;
            }
            else if (data.Span.SequenceEqual("[DONE]"))
            {
                return completionTokens is { } tokens && ttft is { } first
                    ? new TurnResult(tokens, first, gaps, null)
                    : TurnResult.Failed("send: [DONE] without a delta and a final event with usage");
            }
            else if (!completion || data.Span.Contains("\"usage\"", StringComparison.Ordinal) || data.Span.StartsWith("{\"error\"", StringComparison.Ordinal))
            {
                completionTokens = FinalEvent(data);
            }
        }

        return TurnResult.Failed("send: stream ended without [DONE]");
    }

    /// <summary>The final event's completion_tokens; an error event fails the turn.</summary>
    private static int FinalEvent(ReadOnlyMemory<char> data)
    {
        using var json = JsonDocument.Parse(data);
        var root = json.RootElement;
        if (root.TryGetProperty("error", out var error))
        {
            throw new ApiFailure($"error event: {error.GetRawText()}");
        }

        return root.TryGetProperty("usage", out var usage) && usage.TryGetProperty("completion_tokens", out var tokens)
            ? tokens.GetInt32()
            : throw new ApiFailure($"unexpected event {root.GetRawText()}");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new ApiFailure($"HTTP {(int)response.StatusCode} {body}");
        }
    }

    /// <summary>The server answered, but with a failure (status, error event, malformed stream).</summary>
    private sealed class ApiFailure(string message) : Exception(message);
}
