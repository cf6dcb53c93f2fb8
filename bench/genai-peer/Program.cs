// The bench's ONNX Runtime GenAI peer: the same model folder run by the library a C# user would pick instead of
// this engine, driven by the bench over a line protocol so that its rounds interleave with the engine's.
//
//   ChatCluster.GenAiPeer GENAI_MODEL_DIR      (a folder with genai_config.json, written by the bench)
//
// stdin, one command a line; stdout, one reply a line:
//   run TOKENS SECONDS IDS;IDS;...   a static batch of the given prompts (comma-separated ids, one row each),
//                                    TOKENS greedy tokens each (end tokens ignored: min_length = max_length),
//                                    again and again until SECONDS have passed (at least once): one JSON line
//   ids TOKENS IDS                   one prompt, greedy, stopping at an end token (min_length would mask end
//                                    tokens and change the argmax): the generated ids, comma-separated
//   quit
// It prints "ready" once the model is loaded. ORT_DISABLE_TELEMETRY=1 comes from the bench (its environment).
using System.Diagnostics;
using ChatCluster.Bench.Peers;
using Microsoft.ML.OnnxRuntimeGenAI;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: ChatCluster.GenAiPeer GENAI_MODEL_DIR");
    return 2;
}

using var handle = new OgaHandle();
using var model = new Model(args[0]);
return await PeerRounds.ServeAsync((prompts, tokens, timings) =>
    Task.FromResult(Generate(model, prompts, tokens, timings, forceLength: timings is not null)));

// One static batch: all prompts have the same length (the bench's), so no padding is involved.
static int[] Generate(Model model, int[][] prompts, int tokens, (List<double> Ttft, List<double> Itl)? timings, bool forceLength)
{
    var promptLength = prompts[0].Length;
    using var parameters = new GeneratorParams(model);
    parameters.SetSearchOption("batch_size", prompts.Length);
    parameters.SetSearchOption("max_length", promptLength + tokens);
    parameters.SetSearchOption("min_length", forceLength ? promptLength + tokens : 0);
    parameters.SetSearchOption("do_sample", false);
    var start = Stopwatch.GetTimestamp();
    using var generator = new Generator(model, parameters);
    generator.AppendTokens(prompts.SelectMany(p => p).ToArray());
    var last = start;
    var first = true;
    while (!generator.IsDone())
    {
        generator.GenerateNextToken();
        var now = Stopwatch.GetTimestamp();
        if (timings is { } t)
        {
            (first ? t.Ttft : t.Itl).Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
        }

        first = false;
        last = now;
    }

    return generator.GetSequence(0)[promptLength..].ToArray();
}
