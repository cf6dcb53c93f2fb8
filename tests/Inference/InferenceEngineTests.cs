using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Inference;

/// <summary>The engine end to end on the test model: chat template, window accounting, validation.</summary>
public sealed class InferenceEngineTests : IDisposable
{
    private readonly InferenceEngine _engine = InferenceEngine.Load(TestPaths.TinyModel, ExecutionDevice.Cpu);

    [Fact]
    public async Task A_chat_streams_text_and_ends_with_a_finish_reason_and_usage()
    {
        var messages = new[] { new ChatMessage("user", "What does cat mean?") };
        var deltas = await Collect(new ChatRequest { Messages = messages, Sampling = new() { Temperature = 0, MaxTokens = 12 } });

        var last = deltas[^1];
        Assert.NotNull(last.Finish);
        Assert.All(deltas[..^1], d => Assert.Null(d.Finish));
        Assert.Equal(_engine.CountPromptTokens(messages), last.PromptTokens);
        Assert.InRange(last.CompletionTokens, 1, 12);
        Assert.Equal(0, last.DroppedMessages);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_reply()
    {
        var request = new ChatRequest
        {
            Messages = [new ChatMessage("user", "Define dog")],
            Sampling = new() { Temperature = 1, Seed = 99, MaxTokens = 20 },
        };
        Assert.Equal(Text(await Collect(request)), Text(await Collect(request)));
    }

    [Fact]
    public async Task A_prompt_longer_than_the_window_is_refused_or_truncated_oldest_first()
    {
        var window = _engine.Info.ContextWindow;
        var history = new List<ChatMessage> { new("system", "Be brief.") };
        for (var i = 0; history.Sum(m => m.Content.Length) < window * 4; i++)
        {
            history.Add(new ChatMessage(i % 2 == 0 ? "user" : "assistant", $"message number {i} with some words in it"));
        }

        history.Add(new ChatMessage("user", "last question"));
        var tooLong = await Assert.ThrowsAsync<PromptTooLongException>(() =>
            Collect(new ChatRequest { Messages = history, Sampling = new() { MaxTokens = 1 } }));
        Assert.Equal(window, tooLong.ContextWindow);
        Assert.True(tooLong.PromptTokens >= window);

        var deltas = await Collect(new ChatRequest { Messages = history, TruncateOldest = true, Sampling = new() { Temperature = 0, MaxTokens = 4 } });
        var last = deltas[^1];
        Assert.True(last.DroppedMessages > 0);
        Assert.True(last.PromptTokens < window);

        // What was kept is the system prompt plus the newest messages.
        var kept = history.Take(1).Concat(history.Skip(1 + last.DroppedMessages)).ToList();
        Assert.Equal(_engine.CountPromptTokens(kept), last.PromptTokens);
    }

    [Theory]
    [InlineData("temperature")]
    [InlineData("top_p")]
    [InlineData("beam_width")]
    [InlineData("max_tokens")]
    public async Task Out_of_range_sampling_is_refused_naming_the_parameter(string param)
    {
        var sampling = param switch
        {
            "temperature" => new SamplingParameters { Temperature = 3 },
            "top_p" => new SamplingParameters { TopP = 0 },
            "beam_width" => new SamplingParameters { BeamWidth = 99 },
            _ => new SamplingParameters { MaxTokens = 0 },
        };
        var error = await Assert.ThrowsAsync<InvalidRequestException>(() =>
            Collect(new ChatRequest { Messages = [new ChatMessage("user", "hi")], Sampling = sampling }));
        Assert.Equal(param, error.Param);
        Assert.Contains(param, error.Message);
    }

    [Fact]
    public async Task Logit_bias_is_checked_against_the_vocabulary()
    {
        var sampling = new SamplingParameters { LogitBias = new Dictionary<int, float> { [_engine.Model.VocabSize] = -100 } };
        var error = await Assert.ThrowsAsync<InvalidRequestException>(() =>
            Collect(new ChatRequest { Messages = [new ChatMessage("user", "hi")], Sampling = sampling }));
        Assert.Equal("logit_bias", error.Param);
    }

    [Fact]
    public async Task Banning_the_end_tokens_makes_the_reply_run_to_its_limit()
    {
        var ban = _engine.EndTokenIds.ToDictionary(id => id, _ => -100f);
        var deltas = await Collect(new ChatRequest
        {
            Messages = [new ChatMessage("user", "Define cat")],
            Sampling = new() { Temperature = 0, MaxTokens = 40, LogitBias = ban },
        });
        Assert.Equal(FinishReason.Length, deltas[^1].Finish);
        Assert.Equal(40, deltas[^1].CompletionTokens);
    }

    public void Dispose() => _engine.Dispose();

    private async Task<List<ChatDelta>> Collect(ChatRequest request)
    {
        var deltas = new List<ChatDelta>();
        await foreach (var d in _engine.ChatAsync(request).WithTimeout())
        {
            deltas.Add(d);
        }

        return deltas;
    }

    private static string Text(List<ChatDelta> deltas) => string.Concat(deltas.Select(d => d.Text));
}
