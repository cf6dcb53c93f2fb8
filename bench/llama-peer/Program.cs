// The bench's llama.cpp peer: a GGUF export of the same model run by LLamaSharp's BatchedExecutor (one
// Conversation, i.e. one KV sequence, per row; all rows decoded in one llama_decode per step), driven by the
// bench over the same line protocol as the GenAI peer so that its rounds interleave with the engine's.
//
//   ChatCluster.LlamaPeer GGUF THREADS MAX_SEQUENCES CONTEXT KV_CACHE_TYPE(f32|f16) KV_UNIFIED(0|1)
//
// stdin, one command a line; stdout, one reply a line:
//   run TOKENS SECONDS IDS;IDS;...   the prompts as one batch, TOKENS greedy tokens each (end tokens ignored),
//                                    again and again until SECONDS have passed (at least once): one JSON line
//   ids TOKENS IDS                   one prompt, TOKENS greedy tokens: the generated ids, comma-separated
//   quit
// It prints "ready" once the model is loaded; llama.cpp's own log goes to stderr.
using System.Diagnostics;
using System.Globalization;
using ChatCluster.Bench.Peers;
using LLama;
using LLama.Batched;
using LLama.Common;
using LLama.Native;

if (args.Length != 6)
{
    Console.Error.WriteLine("usage: ChatCluster.LlamaPeer GGUF THREADS MAX_SEQUENCES CONTEXT f32|f16 0|1");
    return 2;
}

NativeLibraryConfig.All.WithLogCallback((level, message) =>
{
    if (level >= LLamaLogLevel.Warning || level == LLamaLogLevel.None)
    {
        Console.Error.Write(message);
    }
});
var threads = int.Parse(args[1], CultureInfo.InvariantCulture);
var sequences = int.Parse(args[2], CultureInfo.InvariantCulture);
var context = int.Parse(args[3], CultureInfo.InvariantCulture);
var cacheType = args[4] == "f32" ? GGMLType.GGML_TYPE_F32 : GGMLType.GGML_TYPE_F16;
var parameters = new ModelParams(args[0])
{
    Threads = threads,
    BatchThreads = threads,
    SeqMax = (uint)sequences,
    // Without a unified cache each sequence has a stream of its own of ContextSize / SeqMax cells, so the size
    // is per sequence times sequences; a unified cache shares all cells, and every row attends over all of them.
    ContextSize = (uint)(context * sequences),
    BatchSize = (uint)(context * sequences),
    UBatchSize = (uint)Math.Min(context * sequences, 4096),
    TypeK = cacheType,
    TypeV = cacheType,
    KVUnified = args[5] == "1",
    GpuLayerCount = 0,
};
using var weights = await LLamaWeights.LoadFromFileAsync(parameters);
using var executor = new BatchedExecutor(weights, parameters);
var vocabulary = weights.Vocab.Count;
return await PeerRounds.ServeAsync(async (prompts, tokens, timings) => (await GenerateAsync(prompts, tokens, timings))[0]);

// One static batch: every prompt prefilled in one decode, then one decode per step for all rows together.
// Each row's conversation (its KV sequence) is disposed at the end, which frees its cells for the next batch.
async Task<int[][]> GenerateAsync(int[][] prompts, int tokens, (List<double> Ttft, List<double> Itl)? timings)
{
    var rows = prompts.Select(_ => executor.Create()).ToArray();
    var generated = prompts.Select(_ => new int[tokens]).ToArray();
    try
    {
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r].Prompt(prompts[r].Select(id => (LLamaToken)id).ToArray().AsSpan());
        }

        var last = Stopwatch.GetTimestamp();
        for (var step = 0; step < tokens; step++)
        {
            var result = await executor.Infer();
            if (result != DecodeResult.Ok)
            {
                throw new InvalidOperationException($"llama_decode: {result}");
            }

            var now = Stopwatch.GetTimestamp();
            if (timings is { } t)
            {
                (step == 0 ? t.Ttft : t.Itl).Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
            }

            last = now;
            for (var r = 0; r < rows.Length; r++)
            {
                var next = ArgMax(rows[r].Sample()[..vocabulary]);
                generated[r][step] = next;
                if (step + 1 < tokens)
                {
                    rows[r].Prompt((LLamaToken)next);
                }
            }
        }

        return generated;
    }
    finally
    {
        foreach (var row in rows)
        {
            row.Dispose();
        }
    }
}

static int ArgMax(Span<float> logits)
{
    var best = 0;
    for (var i = 1; i < logits.Length; i++)
    {
        if (logits[i] > logits[best])
        {
            best = i;
        }
    }

    return best;
}
