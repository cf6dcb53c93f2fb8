using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;
using ChatCluster.Gateway.OpenAi;
using ChatCluster.Inference;

namespace ChatCluster.Tests.Gateway;

/// <summary>
/// The SSE framing and OpenAI's chunk sequence, checked on the bytes the writers produce. The deltas are test
/// data played through the real <see cref="ChoiceMerger"/>; nothing stands in for a grain here: generation
/// itself is tested against the engine in the end-to-end tests.
/// </summary>
public sealed class ServerSentEventTests
{
    [Fact]
    public async Task Each_event_is_a_data_line_and_a_blank_line_and_done_ends_the_stream()
    {
        var output = await WriteAsync(async events =>
        {
            var json = events.BeginEvent();
            json.WriteStartObject();
            json.WriteString("delta", "héllo\n");
            json.WriteEndObject();
            await events.EndEventAsync(CancellationToken.None);
            await events.WriteErrorAsync(ApiError.Invalid("bad things", "stop"), CancellationToken.None);
            await events.WriteDoneAsync(CancellationToken.None);
        });

        Assert.Equal(
            "data: {\"delta\":\"héllo\\n\"}\n\n"
            + "data: {\"error\":{\"message\":\"bad things\",\"type\":\"invalid_request_error\",\"param\":\"stop\",\"code\":null}}\n\n"
            + "data: [DONE]\n\n",
            output);
    }

    [Fact]
    public async Task A_streamed_completion_follows_openai_chunk_order_with_usage_last()
    {
        var request = Request(choices: 1, includeUsage: true);
        ChatDelta[] deltas =
        [
            new(0, "Hel", null, 5, 1, 0),
            new(0, "", null, 5, 2, 0),
            new(0, "lo", FinishReason.Length, 5, 3, 0),
        ];

        var chunks = await StreamAsync(request, _ => deltas);

        Assert.Equal(5, chunks.Count);
        AssertChunk(chunks[0], 0, """{"role":"assistant","content":""}""", null);
        AssertChunk(chunks[1], 0, """{"content":"Hel"}""", null);
        AssertChunk(chunks[2], 0, """{"content":"lo"}""", null);
        AssertChunk(chunks[3], 0, "{}", "length");
        var usageChunk = chunks[4];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal(5, usageChunk.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(8, usageChunk.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.All(chunks, chunk => Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString()));
        Assert.All(chunks, chunk => Assert.Equal("chatcmpl-test", chunk.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Without_include_usage_there_is_no_usage_chunk()
    {
        var chunks = await StreamAsync(Request(choices: 1, includeUsage: false), _ => [new(0, "x", FinishReason.Stop, 2, 1, 0)]);

        Assert.Equal(3, chunks.Count);
        AssertChunk(chunks[2], 0, "{}", "stop");
        Assert.All(chunks, chunk => Assert.False(chunk.TryGetProperty("usage", out _)));
    }

    [Fact]
    public async Task Several_choices_each_get_their_index_role_chunk_and_finish_and_usage_adds_their_tokens()
    {
        var chunks = await StreamAsync(Request(choices: 3, includeUsage: true), choice =>
            [new(0, $"c{choice}", null, 4, 1, 0), new(0, "", FinishReason.Stop, 4, 1 + choice, 0)]);

        var usage = chunks[^1].GetProperty("usage");
        var choiceChunks = chunks.Take(chunks.Count - 1).ToList();
        for (var index = 0; index < 3; index++)
        {
            var mine = choiceChunks.Where(c => c.GetProperty("choices")[0].GetProperty("index").GetInt32() == index).ToList();
            Assert.Equal(3, mine.Count);
            AssertChunk(mine[0], index, """{"role":"assistant","content":""}""", null);
            AssertChunk(mine[1], index, $$"""{"content":"c{{index}}"}""", null);
            AssertChunk(mine[2], index, "{}", "stop");
        }

        Assert.Equal(4, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(1 + 2 + 3, usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task A_failure_before_the_first_event_surfaces_from_start()
    {
        var start = ChoiceMerger.StartAsync(2, (choice, ct) => Failing(choice, ct), CancellationToken.None);

        var thrown = await Assert.ThrowsAsync<OverloadedException>(() => start);

        Assert.Equal("queue full", thrown.Message);
    }

    [Fact]
    public async Task Disposing_the_merger_cancels_the_generations_still_running()
    {
        var ended = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var merger = await ChoiceMerger.StartAsync(1, (_, ct) => Endless(ended, ct), CancellationToken.None);

        await merger.DisposeAsync();

        Assert.True(ended.Task.IsCompleted, "the generation was still running after the merger was disposed");
        Assert.True(await ended.Task, "the generation ended without its cancellation token being cancelled");
    }

    private static async IAsyncEnumerable<ChatDelta> Failing(int choice, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        if (choice >= 0)
        {
            throw new OverloadedException("queue full");
        }

        yield break;
    }

    /// <summary>Generates until cancelled; <paramref name="ended"/> says, once it stops, whether it was cancelled.</summary>
    private static async IAsyncEnumerable<ChatDelta> Endless(TaskCompletionSource<bool> ended, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            for (var i = 1; ; i++)
            {
                yield return new ChatDelta(0, "x", null, 1, i, 0);
                await Task.Delay(10, cancellationToken);
            }
        }
        finally
        {
            ended.TrySetResult(cancellationToken.IsCancellationRequested);
        }
    }

    private static async IAsyncEnumerable<ChatDelta> Play(IEnumerable<ChatDelta> deltas)
    {
        foreach (var delta in deltas)
        {
            await Task.Yield();
            yield return delta;
        }
    }

    private static ChatCompletionRequest Request(int choices, bool includeUsage) =>
        new("tiny", [new ChatMessage("user", "hi")], [], new SamplingParameters(), choices, Stream: true, includeUsage);

    private static async Task<List<JsonElement>> StreamAsync(ChatCompletionRequest request, Func<int, ChatDelta[]> deltas)
    {
        var output = await WriteAsync(async events =>
        {
            await using var merger = await ChoiceMerger.StartAsync(request.Choices, (choice, _) => Play(deltas(choice)), CancellationToken.None);
            await new ChatCompletionWriter(request, "chatcmpl-test", 1700000000).WriteStreamAsync(events, merger, CancellationToken.None);
        });

        var frames = output.Split("\n\n");
        Assert.Equal("", frames[^1]);
        Assert.Equal("data: [DONE]", frames[^2]);
        return frames[..^2].Select(frame =>
        {
            Assert.StartsWith("data: ", frame, StringComparison.Ordinal);
            return JsonDocument.Parse(frame["data: ".Length..]).RootElement.Clone();
        }).ToList();
    }

    private static void AssertChunk(JsonElement chunk, int index, string delta, string? finishReason)
    {
        var choice = Assert.Single(chunk.GetProperty("choices").EnumerateArray());
        Assert.Equal(index, choice.GetProperty("index").GetInt32());
        Assert.Equal(delta, choice.GetProperty("delta").GetRawText());
        var finish = choice.GetProperty("finish_reason");
        Assert.Equal(finishReason, finish.ValueKind == JsonValueKind.Null ? null : finish.GetString());
    }

    private static async Task<string> WriteAsync(Func<ServerSentEventWriter, Task> write)
    {
        var pipe = new Pipe();
        using (var events = new ServerSentEventWriter(pipe.Writer))
        {
            await write(events);
        }

        await pipe.Writer.CompleteAsync();
        var result = await pipe.Reader.ReadAtLeastAsync(int.MaxValue);
        return Encoding.UTF8.GetString(result.Buffer);
    }
}
