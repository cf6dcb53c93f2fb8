using System.Threading.Channels;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Inference.Tokenization;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Inference;

/// <summary>A real scheduler on the test model, with helpers to submit token prompts and read replies.</summary>
internal sealed class SchedulerHarness : IDisposable
{
    public SchedulerHarness(SchedulerOptions? options = null, bool endTokens = true, string? model = null, string graph = DecoderModel.OptimumGraph)
    {
        model ??= TestPaths.TinyModel;
        Model = DecoderModel.Load(model, ExecutionDevice.Cpu, graph: graph);
        Tokenizer = BpeTokenizer.Load(Path.Combine(model, "tokenizer.json"));
        Scheduler = new BatchScheduler(Model, Tokenizer, endTokens ? Model.Config.EndTokenIds : [], options ?? new SchedulerOptions());
    }

    public DecoderModel Model { get; }

    public BpeTokenizer Tokenizer { get; }

    public BatchScheduler Scheduler { get; }

    public Sequence Submit(int[] prompt, SamplingParameters sampling, string? cacheKey = null) =>
        Scheduler.Submit(new GenerationJob(prompt, sampling, cacheKey));

    public static async Task<Reply> ReadAsync(Sequence sequence)
    {
        var text = "";
        FinishReason? finish = null;
        var deltas = 0;
        await foreach (var d in sequence.Output.ReadAllAsync().WithTimeout())
        {
            text += d.Text;
            finish = d.Finish ?? finish;
            deltas++;
        }

        return new Reply(text, finish, deltas);
    }

    /// <summary>Deterministic pseudo-random prompts of ordinary (non-special) tokens.</summary>
    public int[] Prompt(int seed, int length)
    {
        var random = new Random(seed);
        var prompt = new int[length];
        for (var i = 0; i < length; i++)
        {
            int id;
            do
            {
                id = random.Next(Model.VocabSize);
            }
            while (Tokenizer.IsSpecialToken(id));
            prompt[i] = id;
        }

        return prompt;
    }

    public void Dispose()
    {
        Scheduler.Dispose();
        Model.Dispose();
    }

    public sealed record Reply(string Text, FinishReason? Finish, int Deltas);
}
