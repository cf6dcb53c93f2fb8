using System.Diagnostics;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Inference.Tokenization;

namespace ChatCluster.Bench;

/// <summary>
/// The engine's side of a level: N concurrent greedy sequences of the given prompts through the scheduler,
/// submitted together, again and again for a round's seconds. End tokens are off, so every sequence generates
/// exactly the asked number of tokens (as the peers do). One scheduler per level, kept across its rounds.
/// </summary>
internal sealed class ThroughputBenchmark(BenchOptions options, DecoderModel model, BpeTokenizer tokenizer) : IDisposable
{
    private BatchScheduler? _scheduler;

    public void StartLevel(int concurrency)
    {
        _scheduler?.Dispose();
        _scheduler = new BatchScheduler(model, tokenizer, [], new SchedulerOptions { MaxBatchRows = Math.Max(32, concurrency) });
    }

    public async Task<Measurement> RunRoundAsync(int[][] prompts, double seconds)
    {
        var scheduler = _scheduler ?? throw new InvalidOperationException("StartLevel first");
        var stepsBefore = scheduler.Steps;
        var allocatedBefore = scheduler.LoopAllocatedBytes;
        var phasesBefore = scheduler.PhaseTicks;
        var ttft = new List<double>();
        var itl = new List<double>();
        var clock = Stopwatch.StartNew();
        var jobs = 0;
        do
        {
            await RunBatchAsync(scheduler, prompts, options.GeneratedTokens, ttft, itl);
            jobs++;
        }
        while (clock.Elapsed.TotalSeconds < seconds);

        var elapsed = clock.Elapsed;
        var steps = Math.Max(1, scheduler.Steps - stepsBefore);
        var allocated = scheduler.LoopAllocatedBytes - allocatedBefore;
        var phases = scheduler.PhaseTicks;
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency / steps;
        var prefill = Ms(phases.Prefill - phasesBefore.Prefill);
        var rebuild = Ms(phases.Rebuild - phasesBefore.Rebuild);
        var model = Ms(phases.DecodeModel - phasesBefore.DecodeModel);
        var sample = Ms(phases.Decode - phasesBefore.Decode) - model;
        var idle = elapsed.TotalMilliseconds / steps - prefill - rebuild - model - sample;
        return new Measurement(
            (double)jobs * prompts.Length * options.GeneratedTokens / elapsed.TotalSeconds,
            elapsed.TotalMilliseconds / steps,
            Percentiles.Of(ttft, 0.5), Percentiles.Of(ttft, 0.99),
            Percentiles.Of(itl, 0.5), Percentiles.Of(itl, 0.99),
            (double)allocated / steps,
            new StepPhases(prefill, rebuild, model, sample, idle));
    }

    /// <summary>One greedy sequence alone: its generated ids (to check them against a peer's).</summary>
    public async Task<int[]> GenerateAsync(int[] prompt, int tokens)
    {
        var scheduler = _scheduler ?? throw new InvalidOperationException("StartLevel first");
        var sequence = scheduler.Submit(new GenerationJob(prompt, new SamplingParameters { Temperature = 0, MaxTokens = tokens }, null));
        await foreach (var _ in sequence.Output.ReadAllAsync())
        {
        }

        return [.. sequence.Tokens.Skip(prompt.Length)];
    }

    /// <summary>Prompts of random ordinary tokens (no special ones), the same for every engine at a level.</summary>
    public int[][] Prompts(int concurrency) => [.. Enumerable.Range(0, concurrency).Select(Prompt)];

    public void Dispose() => _scheduler?.Dispose();

    private static async Task RunBatchAsync(BatchScheduler scheduler, int[][] prompts, int tokens, List<double> ttft, List<double> itl)
    {
        var sampling = new SamplingParameters { Temperature = 0, MaxTokens = tokens };
        var clock = Stopwatch.StartNew();
        var readers = prompts
            .Select(p => scheduler.Submit(new GenerationJob(p, sampling, null)))
            .Select(s => ReadAsync(s, clock, ttft, itl))
            .ToList();
        await Task.WhenAll(readers);
    }

    private static async Task ReadAsync(Sequence sequence, Stopwatch clock, List<double> ttft, List<double> itl)
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

        lock (ttft)
        {
            ttft.Add(first ?? 0);
            itl.AddRange(gaps);
        }
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
