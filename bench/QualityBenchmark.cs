using System.Security.Cryptography;
using System.Text;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Inference.Tokenization;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// What a graph's weights cost in quality against the first graph given (fp32): greedy agreement (the same
/// random prompts as the throughput bench, each generated alone through the scheduler; tokens up to the first
/// difference) and perplexity on held-out text (documents split on form feeds, as training/data.py writes
/// pretrain_heldout.txt; each cut into windows of the context length, every token after a window's first scored).
///   dotnet run -c Release --project bench -- quality --text RUN/data/pretrain_heldout.txt
///       [--model DIR] [--graphs model.fused.onnx,model.fused.int8.onnx,model.fused.int4.onnx] [--prompts 16] [--tokens 64] [--out DIR]
/// </summary>
internal static class QualityBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var root = BenchOptions.FindRepositoryRoot();
        var model = Path.Combine(root, "models", "chatcluster-tiny");
        string[] graphs = ["model.fused.onnx", "model.fused.int8.onnx", "model.fused.int4.onnx"];
        string? text = null;
        var prompts = 16;
        var tokens = 64;
        var output = Path.Combine(root, "bench", "results", "fused");
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model": model = Path.GetFullPath(Value()); break;
                case "--graphs": graphs = Value().Split(','); break;
                case "--text": text = Path.GetFullPath(Value()); break;
                case "--prompts": prompts = int.Parse(Value()); break;
                case "--tokens": tokens = int.Parse(Value()); break;
                case "--out": output = Path.GetFullPath(Value()); break;
                default: throw new ArgumentException($"quality: unknown option {args[i]}");
            }
        }

        if (text is null)
        {
            throw new ArgumentException("quality needs --text FILE (held-out documents separated by form feeds, e.g. RUN/data/pretrain_heldout.txt)");
        }

        var tokenizer = BpeTokenizer.Load(Path.Combine(model, "tokenizer.json"));
        var documents = (await File.ReadAllTextAsync(text)).Split('\f', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => tokenizer.Encode(d).ToArray()).Where(d => d.Length > 1).ToList();
        var rows = new List<(string Graph, double Perplexity, int Same, int Compared, int SamePrompts, long Bytes)>();
        List<int[]>? reference = null;
        foreach (var graph in graphs)
        {
            using var decoder = DecoderModel.Load(model, ExecutionDevice.Cpu, graph: graph);
            var perplexity = Perplexity(decoder, documents);
            var generated = await GreedyAsync(decoder, tokenizer, prompts, tokens);
            reference ??= generated;
            var same = 0;
            var samePrompts = 0;
            for (var p = 0; p < generated.Count; p++)
            {
                var n = 0;
                while (n < tokens && generated[p][n] == reference[p][n])
                {
                    n++;
                }

                same += n;
                samePrompts += n == tokens ? 1 : 0;
            }

            rows.Add((graph, perplexity, same, prompts * tokens, samePrompts, new FileInfo(Path.Combine(model, graph)).Length));
            AnsiConsole.MarkupLine(Markup.Escape($"{graph}: perplexity {perplexity:F3}; greedy {same}/{prompts * tokens} tokens before the first difference, {samePrompts}/{prompts} prompts identical"));
        }

        var md = new StringBuilder($"Command: `dotnet run -c Release --project bench -- quality {string.Join(' ', args)}`\n\n" +
            $"Held-out text: {Path.GetFileName(text)} (sha256 {Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(text)))[..16]}), " +
            $"{documents.Count} documents, {documents.Sum(d => d.Length)} tokens. Greedy: {prompts} random prompts of 32 tokens, {tokens} tokens each, against {graphs[0]}.\n\n" +
            "| graph | file MB | perplexity | greedy tokens before the first difference | prompts identical |\n|---|---|---|---|---|\n");
        foreach (var r in rows)
        {
            md.Append($"| {r.Graph} | {r.Bytes / 1e6:F2} | {r.Perplexity:F3} | {r.Same}/{r.Compared} | {r.SamePrompts}/{prompts} |\n");
        }

        Directory.CreateDirectory(output);
        await File.WriteAllTextAsync(Path.Combine(output, "quality.md"), md.ToString());
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(output)}/quality.md");
        return 0;
    }

    /// <summary>exp(mean negative log-likelihood) over every scored token, windows of the context length.</summary>
    private static double Perplexity(DecoderModel model, List<int[]> documents)
    {
        var io = new ModelStepBuffers();
        var window = model.Config.ContextWindow;
        var slots = model.SharesKvBuffer ? new KvSlots(model.KvShape, window) : null;
        var past = new KvCache(model.KvShape);
        var present = new KvCache(model.KvShape);
        var vocab = model.VocabSize;
        double nll = 0;
        long scored = 0;
        foreach (var document in documents)
        {
            for (var start = 0; start + 1 < document.Length; start += window)
            {
                var n = Math.Min(window, document.Length - start);
                io.Reserve(1, n, 0, vocab);
                for (var i = 0; i < n; i++)
                {
                    io.InputIds.Span[i] = document[start + i];
                    io.PositionIds.Span[i] = i;
                }

                io.AttentionMask.Span[..n].Fill(1);
                if (slots is not null)
                {
                    model.RunInPlace(io, 1, n, n, slots, 0);
                }
                else
                {
                    past.Resize(1, 0);
                    model.Run(io, 1, n, past, present);
                }

                for (var i = 0; i + 1 < n; i++)
                {
                    var logits = io.Logits.Span.Slice(i * vocab, vocab);
                    var max = System.Numerics.Tensors.TensorPrimitives.Max(logits);
                    double sum = 0;
                    foreach (var l in logits)
                    {
                        sum += Math.Exp(l - max);
                    }

                    nll += max + Math.Log(sum) - logits[document[start + i + 1]];
                    scored++;
                }
            }
        }

        return Math.Exp(nll / scored);
    }

    private static async Task<List<int[]>> GreedyAsync(DecoderModel model, BpeTokenizer tokenizer, int prompts, int tokens)
    {
        using var scheduler = new BatchScheduler(model, tokenizer, [], new SchedulerOptions());
        var results = new List<int[]>();
        for (var p = 0; p < prompts; p++)
        {
            var random = new Random(p);
            var prompt = new int[32];
            for (var i = 0; i < prompt.Length; i++)
            {
                do
                {
                    prompt[i] = random.Next(model.VocabSize);
                }
                while (tokenizer.IsSpecialToken(prompt[i]));
            }

            var sequence = scheduler.Submit(new GenerationJob(prompt, new SamplingParameters { Temperature = 0, MaxTokens = tokens }, null));
            await foreach (var _ in sequence.Output.ReadAllAsync())
            {
            }

            results.Add([.. sequence.Tokens.Skip(prompt.Length)]);
        }

        return results;
    }
}
