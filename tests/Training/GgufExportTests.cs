using ChatCluster.Inference;
using ChatCluster.Tests.Inference;
using ChatCluster.Tests.Infrastructure;
using LLama;
using LLama.Common;
using LLama.Native;

namespace ChatCluster.Tests.Training;

/// <summary>
/// training/gguf_export.py's f32 file of the bundled model, loaded by llama.cpp (LLamaSharp 0.30.0, CPU backend):
/// it tokenizes text and the chat control tokens as the engine's tokenizer does, and greedy decoding from it gives
/// the engine's ids. A
/// weight written in the wrong orientation, a missing position table or a shuffled vocabulary fails these.
/// </summary>
public sealed class GgufExportTests : IClassFixture<GgufExportTests.BundledGguf>
{
    private static readonly string[] Texts =
    [
        "What does the word river mean? It's a stream of water, 42 km long.",
        "The history of the city begins with a small village by the sea, where",
    ];

    private readonly BundledGguf _gguf;

    public GgufExportTests(BundledGguf gguf) => _gguf = gguf;

    [Fact]
    public void Llama_cpp_tokenizes_text_and_control_tokens_as_the_engine_does()
    {
        using var engine = new SchedulerHarness(model: TestPaths.BundledModel);
        using var context = _gguf.Weights.CreateContext(_gguf.Parameters);
        foreach (var text in Texts)
        {
            Assert.Equal(engine.Tokenizer.Encode(text), context.Tokenize(text, addBos: false, special: false).Select(t => (int)t));
        }

        foreach (var control in new[] { "<|im_start|>", "<|im_end|>", "<|endoftext|>" })
        {
            Assert.True(engine.Tokenizer.TryGetSpecialTokenId(control, out var id));
            Assert.Equal([id], context.Tokenize(control, addBos: false, special: true).Select(t => (int)t));
        }
    }

    [Fact]
    public async Task Greedy_ids_from_the_f32_file_equal_the_engines()
    {
        const int tokens = 24;
        using var engine = new SchedulerHarness(endTokens: false, model: TestPaths.BundledModel);
        Assert.True(engine.Tokenizer.TryGetSpecialTokenId("<|im_start|>", out var start));
        Assert.True(engine.Tokenizer.TryGetSpecialTokenId("<|im_end|>", out var end));
        // A chat turn as the gateway lays it out, and plain text.
        int[][] prompts =
        [
            [start, .. engine.Tokenizer.Encode("user\n" + Texts[0]), end, .. engine.Tokenizer.Encode("\n"), start, .. engine.Tokenizer.Encode("assistant\n")],
            [.. engine.Tokenizer.Encode(Texts[1])],
        ];
        foreach (var prompt in prompts)
        {
            var sequence = engine.Submit(prompt, new SamplingParameters { Temperature = 0, MaxTokens = tokens });
            await SchedulerHarness.ReadAsync(sequence);
            Assert.Equal(sequence.Tokens.Skip(prompt.Length), LlamaGreedy(prompt, tokens));
        }
    }

    private int[] LlamaGreedy(int[] prompt, int tokens)
    {
        using var context = _gguf.Weights.CreateContext(_gguf.Parameters);
        var batch = new LLamaBatch();
        batch.AddRange(prompt.Select(id => (LLamaToken)id).ToArray(), 0, LLamaSeqId.Zero, true);
        var generated = new List<int>();
        for (var position = prompt.Length; generated.Count < tokens; position++)
        {
            Assert.Equal(DecodeResult.Ok, context.NativeHandle.Decode(batch));
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            var next = 0;
            for (var i = 1; i < logits.Length; i++)
            {
                next = logits[i] > logits[next] ? i : next;
            }

            generated.Add(next);
            batch.Clear();
            batch.Add(next, position, LLamaSeqId.Zero, true);
        }

        return [.. generated];
    }

    /// <summary>The bundled model exported once for the class, into a temporary folder, and loaded by llama.cpp.</summary>
    public sealed class BundledGguf : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("gguf-export-").FullName;

        public BundledGguf()
        {
            var file = Path.Combine(_folder, "model.f32.gguf");
            PythonScript.Run(TimeSpan.FromMinutes(1), "training/gguf_export.py", TestPaths.BundledModel, "--type", "f32", "--out", file);
            // An f32 KV cache as the engine's: greedy ids must not hinge on the cache's rounding.
            Parameters = new ModelParams(file) { ContextSize = 256, Threads = 1, BatchThreads = 1, TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32 };
            Weights = LLamaWeights.LoadFromFile(Parameters);
        }

        public ModelParams Parameters { get; }

        public LLamaWeights Weights { get; }

        public void Dispose()
        {
            Weights.Dispose();
            Directory.Delete(_folder, recursive: true);
        }
    }
}
