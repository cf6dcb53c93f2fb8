using System.Diagnostics;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;

namespace ChatCluster.Bench;

/// <summary>
/// Time to first token across the turns of one conversation, with its KV cache kept between turns (the
/// conversation's id as cache key) and without, so the gain of prefilling only new tokens shows side by side.
/// Turns are short (6-token replies, no system prompt) so that ten of them fit the bundled model's 256-token
/// window: once the oldest turns are dropped the prompt's prefix changes and no cache can help.
/// </summary>
internal sealed class ConversationBenchmark(BenchOptions options)
{
    public async Task<List<(int Turn, double CachedMs, double UncachedMs, int PromptTokens)>> RunAsync()
    {
        using var engine = InferenceEngine.Load(options.Model, ExecutionDevice.Cpu);
        await ConverseAsync(engine, "warm-up", 0); // JIT and buffer growth stay out of the figures

        // Twenty conversations each way; the median per turn (millisecond times are noisy on a shared machine).
        var cached = new List<List<(double Ttft, int Prompt)>>();
        var uncached = new List<List<(double Ttft, int Prompt)>>();
        for (var c = 0; c < Conversations; c++)
        {
            cached.Add(await ConverseAsync(engine, $"bench-conversation-{c}", c));
            uncached.Add(await ConverseAsync(engine, null, c));
        }

        return Enumerable.Range(0, options.Turns).Select(t => (
            t + 1,
            Median(cached.Select(run => run[t].Ttft)),
            Median(uncached.Select(run => run[t].Ttft)),
            cached[0][t].Prompt)).ToList();
    }

    private const int Conversations = 20;

    private int _truncatedTurns;

    /// <summary>Turns (with a kept cache) whose prompt lost its oldest turns to the window: no cache can help those.</summary>
    public int TruncatedTurns => _truncatedTurns;

    private static double Median(IEnumerable<double> values) => Percentiles.Of(values.ToList(), 0.5);

    private async Task<List<(double Ttft, int Prompt)>> ConverseAsync(InferenceEngine engine, string? cacheKey, int offset)
    {
        var history = new List<ChatMessage>();
        var turns = new List<(double, int)>();
        string[] words = ["cat", "house", "river", "music", "stone", "light", "garden", "bread", "window", "paper", "cloud", "field"];
        for (var turn = 0; turn < options.Turns; turn++)
        {
            history.Add(new ChatMessage("user", $"Define {words[(turn + offset) % words.Length]}"));
            var clock = Stopwatch.StartNew();
            double? ttft = null;
            var reply = "";
            var prompt = 0;
            var request = new ChatRequest
            {
                Messages = history.ToList(),
                CacheKey = cacheKey,
                TruncateOldest = true,
                Sampling = new SamplingParameters { Temperature = 0, MaxTokens = 6 },
            };
            await foreach (var delta in engine.ChatAsync(request))
            {
                ttft ??= clock.Elapsed.TotalMilliseconds;
                reply += delta.Text;
                prompt = delta.PromptTokens;
                if (delta.DroppedMessages > 0 && cacheKey is not null)
                {
                    Interlocked.Increment(ref _truncatedTurns);
                }
            }

            history.Add(new ChatMessage("assistant", reply));
            turns.Add((ttft ?? 0, prompt));
        }

        return turns;
    }
}
