using System.Diagnostics;
using ChatCluster.Grains;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;

namespace ChatCluster.Bench;

/// <summary>
/// Time to first token across the turns of one conversation, with its KV cache kept between turns (the
/// conversation's id as cache key) and without, so the gain of prefilling only new tokens shows side by side.
/// Turns are short (8-token replies) so that ten of them fit the bundled model's 256-token window: once the
/// oldest turns are dropped the prompt's prefix changes and no cache can help.
/// </summary>
internal sealed class ConversationBenchmark(BenchOptions options)
{
    public async Task<List<(int Turn, double CachedMs, double UncachedMs, int PromptTokens)>> RunAsync()
    {
        using var engine = InferenceEngine.Load(options.Model, ExecutionDevice.Cpu);
        await ConverseAsync(engine, "warm-up"); // JIT and buffer growth stay out of the figures
        var cached = await ConverseAsync(engine, "bench-conversation");
        var uncached = await ConverseAsync(engine, null);
        return cached.Select((c, i) => (i + 1, c.Ttft, uncached[i].Ttft, c.Prompt)).ToList();
    }

    private async Task<List<(double Ttft, int Prompt)>> ConverseAsync(InferenceEngine engine, string? cacheKey)
    {
        var history = new List<ChatMessage> { new("system", "You are a helpful dictionary assistant.") };
        var turns = new List<(double, int)>();
        string[] words = ["cat", "house", "river", "music", "stone", "light", "garden", "bread", "window", "paper", "cloud", "field"];
        for (var turn = 0; turn < options.Turns; turn++)
        {
            history.Add(new ChatMessage("user", $"Define {words[turn % words.Length]}"));
            var clock = Stopwatch.StartNew();
            double? ttft = null;
            var reply = "";
            var prompt = 0;
            var request = new ChatRequest
            {
                Messages = history.ToList(),
                CacheKey = cacheKey,
                TruncateOldest = true,
                Sampling = new SamplingParameters { Temperature = 0, MaxTokens = 8 },
            };
            await foreach (var delta in engine.ChatAsync(request))
            {
                ttft ??= clock.Elapsed.TotalMilliseconds;
                reply += delta.Text;
                prompt = delta.PromptTokens;
            }

            history.Add(new ChatMessage("assistant", reply));
            turns.Add((ttft ?? 0, prompt));
        }

        return turns;
    }
}
