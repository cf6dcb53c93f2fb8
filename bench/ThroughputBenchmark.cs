using System.Diagnostics;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Bench;

/// <summary>
/// N concurrent greedy sequences of the same prompt and reply lengths through the engine's scheduler. End
/// tokens are off, so every sequence generates exactly the asked number of tokens (as the peer does).
/// </summary>
internal sealed class ThroughputBenchmark(BenchOptions options, DecoderModel model, BpeTokenizer tokenizer)
{
    public async Task<LevelResult> RunAsync(int concurrency)
    {
        using var scheduler = new BatchScheduler(model, tokenizer, [], new SchedulerOptions { MaxBatchRows = Math.Max(32, concurrency) });
        // Warm-up at the same level: JIT and the growth of the pinned KV buffers to this level's size happen
        // once in a server's life, so they stay out of the figures (which then show the steady state).
        await RunLevelAsync(scheduler, concurrency, options.GeneratedTokens);

        var stepsBefore = scheduler.Steps;
        var allocatedBefore = scheduler.LoopAllocatedBytes;
        var (elapsed, ttft, itl) = await RunLevelAsync(scheduler, concurrency, options.GeneratedTokens);
        var steps = Math.Max(1, scheduler.Steps - stepsBefore);
        var allocated = scheduler.LoopAllocatedBytes - allocatedBefore;
        using var process = Process.GetCurrentProcess();
        return new LevelResult(
            "chatcluster", concurrency,
            concurrency * options.GeneratedTokens / elapsed.TotalSeconds,
            elapsed.TotalMilliseconds / steps,
            Percentiles.Of(ttft, 0.5), Percentiles.Of(ttft, 0.99),
            Percentiles.Of(itl, 0.5), Percentiles.Of(itl, 0.99),
            process.PeakWorkingSet64 / 1048576.0,
            (double)allocated / steps);
    }

    private async Task<(TimeSpan Elapsed, List<double> Ttft, List<double> Itl)> RunLevelAsync(
        BatchScheduler scheduler, int concurrency, int tokens)
    {
        var sampling = new SamplingParameters { Temperature = 0, MaxTokens = tokens };
        var clock = Stopwatch.StartNew();
        var readers = Enumerable.Range(0, concurrency)
            .Select(i => scheduler.Submit(new GenerationJob(Prompt(i), sampling, null)))
            .Select(s => ReadAsync(s, clock))
            .ToList();
        var timings = await Task.WhenAll(readers);
        var elapsed = clock.Elapsed;
        return (elapsed, timings.Select(t => t.Ttft).ToList(), timings.SelectMany(t => t.Gaps).ToList());
    }

    private static async Task<(double Ttft, List<double> Gaps)> ReadAsync(Sequence sequence, Stopwatch clock)
    {
        var start = clock.Elapsed.TotalMilliseconds;
        double? first = null;
        var last = start;
        var gaps = new List<double>();
        await foreach (var _ in sequence.Output.ReadAllAsync())
        {
            var now = clock.Elapsed.TotalMilliseconds;
            if (first is null)
            {
                first = now - start;
            }
            else
            {
                gaps.Add(now - last);
            }

            last = now;
        }

        return (first ?? 0, gaps);
    }

    private int[] Prompt(int seed)
    {
        var random = new Random(seed);
        var prompt = new int[options.PromptTokens];
        for (var i = 0; i < prompt.Length; i++)
        {
            do
            {
                prompt[i] = random.Next(model.VocabSize);
            }
            while (tokenizer.IsSpecialToken(prompt[i]));
        }

        return prompt;
    }
}
