using System.Diagnostics;
using System.Text;
using ChatCluster.Inference.Model;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// What a fused graph's decode call costs when the rows of a batch hold different lengths, as continuous batching
/// always has them, against rows of one length, as a static batch (ONNX Runtime GenAI's) has them, with ONNX
/// Runtime's CPU GroupQueryAttention on its flash path (its default) and on its plain one (the engine's setting,
/// <see cref="ExecutionDevice.GqaFlashVariable"/>), one session each, and the cost of a 128-token prompt on each.
/// The same slots and the same number of rows; each run is 64 decode calls in which every row grows by one
/// token, all from 64 tokens (equal), or from 64 + (row mod 4) - 2 (0-3 apart), or from 64 + 4 x (row mod 16) - 30
/// (0-60 apart), or all from 64 but the first row from 65: about the same mean length, so the same attention work.
/// Everything takes turns run by run; the median of each over the rounds is reported with its ratio to equal lengths
/// on the same path, and the plain path's ratio to the flash path.
///   dotnet run -c Release --project bench -- lengths [--model DIR] [--rows 16] [--rounds 15] [--out bench/results/fused]
/// </summary>
internal static class LengthsBenchmark
{
    private const int Steps = 64;
    private const int Start = 64;
    private const int Prompt = 128;

    private static readonly (string Name, Func<int, int> Offset)[] Arrangements =
    [
        ("equal lengths", _ => 0),
        ("lengths 0-3 apart", row => (row % 4) - 2),
        ("lengths 0-60 apart", row => (4 * (row % 16)) - 30),
        ("one row 1 longer", row => row == 0 ? 1 : 0),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var root = BenchOptions.FindRepositoryRoot();
        var model = Path.Combine(root, "models", "chatcluster-tiny");
        var rows = 16;
        var rounds = 15;
        var output = Path.Combine(root, "bench", "results", "fused");
        var md = new StringBuilder();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model": model = Path.GetFullPath(Value()); break;
                case "--rows": rows = int.Parse(Value()); break;
                case "--rounds": rounds = int.Parse(Value()); break;
                case "--out": output = Path.GetFullPath(Value()); break;
                default: throw new ArgumentException($"lengths: unknown option {args[i]}");
            }
        }

        (string Name, string Variable)[] kernels = [("flash", "0"), ("plain", "1")];
        var decoders = new List<DecoderModel>();
        foreach (var (_, variable) in kernels)
        {
            // The kernel reads the variable when its session is created.
            NativeEnvironment.Set(ExecutionDevice.GqaFlashVariable, variable, overwrite: true);
            decoders.Add(DecoderModel.Load(model, ExecutionDevice.Cpu, graph: "model.fused.onnx"));
        }

        NativeEnvironment.Set(ExecutionDevice.GqaFlashVariable, "1", overwrite: true);
        try
        {
            var longest = Start + Arrangements.Max(a => a.Offset(rows - 1)) + Steps;
            var slots = new KvSlots(decoders[0].KvShape, decoders[0].Config.ContextWindow, initialSlots: rows, initialLength: Math.Max(longest, Prompt));
            var io = new ModelStepBuffers();
            var decode = new List<double>[kernels.Length, Arrangements.Length];
            var prefill = new List<double>[kernels.Length];
            for (var k = 0; k < kernels.Length; k++)
            {
                prefill[k] = [];
                for (var a = 0; a < Arrangements.Length; a++)
                {
                    decode[k, a] = [];
                }
            }

            AnsiConsole.MarkupLine($"[bold]Decode call by row lengths[/] {rows} rows, {Steps} calls a run, {rounds} rounds; {Markup.Escape(MachineInfo.Line)}");
            for (var round = -1; round < rounds; round++)
            {
                for (var a = 0; a < Arrangements.Length; a++)
                {
                    for (var k = 0; k < kernels.Length; k++)
                    {
                        var ms = Run(decoders[k], slots, io, rows, Arrangements[a].Offset);
                        if (round >= 0)
                        {
                            decode[k, a].Add(ms);
                        }
                    }
                }

                for (var k = 0; k < kernels.Length; k++)
                {
                    var ms = Prefill(decoders[k], slots, io);
                    if (round >= 0)
                    {
                        prefill[k].Add(ms);
                    }
                }
            }

            double Median(List<double> samples) => Percentiles.Of(samples, 0.5);
            string Cell(List<double> samples) => $"{Median(samples):F3} ({samples.Min():F3}-{samples.Max():F3})";
            md.Append($"Machine: {MachineInfo.Line}\n\nCommand: `{string.Join(' ', ["dotnet run -c Release --project bench -- lengths", .. args])}`\n\n");
            md.Append($"Model {Path.GetFileName(model)}, model.fused.onnx, two sessions: GroupQueryAttention's flash path (ONNX Runtime's " +
                $"default, {ExecutionDevice.GqaFlashVariable}=0) and its plain path (=1, the engine's setting). {rows} rows bound in " +
                $"place, ONNX Runtime's default threads, spinning off. A decode run: {Steps} calls, every row one token longer each " +
                $"call, from {Start} + the arrangement's offset. A prompt: {Prompt} tokens prefilled in one batch-1 call. {rounds} rounds " +
                "after one warm-up, everything in turn within a round. Milliseconds per call, median (min-max).\n\n");
            md.Append("| call | flash path ms | x equal lengths | plain path ms | x equal lengths | plain / flash |\n|---|---|---|---|---|---|\n");
            for (var a = 0; a < Arrangements.Length; a++)
            {
                var (flash, plain) = (Median(decode[0, a]), Median(decode[1, a]));
                md.Append($"| decode, {Arrangements[a].Name} | {Cell(decode[0, a])} | {flash / Median(decode[0, 0]):F2} | " +
                    $"{Cell(decode[1, a])} | {plain / Median(decode[1, 0]):F2} | {plain / flash:F2} |\n");
                AnsiConsole.MarkupLine($"  decode, {Arrangements[a].Name}: flash {flash:F3} ms, plain {plain:F3} ms ({plain / flash:F2}x)");
            }

            var (flashPrefill, plainPrefill) = (Median(prefill[0]), Median(prefill[1]));
            md.Append($"| prompt of {Prompt} tokens | {Cell(prefill[0])} | - | {Cell(prefill[1])} | - | {plainPrefill / flashPrefill:F2} |\n");
            AnsiConsole.MarkupLine($"  prompt of {Prompt} tokens: flash {flashPrefill:F3} ms, plain {plainPrefill:F3} ms ({plainPrefill / flashPrefill:F2}x)");
        }
        finally
        {
            decoders.ForEach(d => d.Dispose());
        }

        Directory.CreateDirectory(output);
        await File.WriteAllTextAsync(Path.Combine(output, "lengths.md"), md.ToString());
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(output)}/lengths.md");
        return 0;
    }

    /// <summary>Mean milliseconds of a batch-1 call that prefills a prompt of <see cref="Prompt"/> tokens into slot 0, over 8 calls.</summary>
    private static double Prefill(DecoderModel decoder, KvSlots slots, ModelStepBuffers io)
    {
        io.Reserve(1, Prompt, 0, decoder.VocabSize);
        for (var i = 0; i < Prompt; i++)
        {
            io.InputIds.Span[i] = 100 + i;
            io.PositionIds.Span[i] = i;
        }

        io.AttentionMask.Span[..Prompt].Fill(1);
        var started = Stopwatch.GetTimestamp();
        for (var call = 0; call < 8; call++)
        {
            decoder.RunInPlace(io, 1, Prompt, Prompt, slots, 0);
        }

        return Stopwatch.GetElapsedTime(started).TotalMilliseconds / 8;
    }

    /// <summary>Mean milliseconds of one decode call over a run; row r holds Start + offset(r) tokens before the first.</summary>
    private static double Run(DecoderModel decoder, KvSlots slots, ModelStepBuffers io, int rows, Func<int, int> offset)
    {
        long ticks = 0;
        for (var step = 0; step < Steps; step++)
        {
            var width = 0;
            for (var r = 0; r < rows; r++)
            {
                width = Math.Max(width, Start + offset(r) + step + 1);
            }

            io.Reserve(rows, 1, width - 1, decoder.VocabSize);
            var mask = io.AttentionMask.Span[..(rows * width)];
            for (var r = 0; r < rows; r++)
            {
                var length = Start + offset(r) + step;
                io.InputIds.Span[r] = 100 + r;
                io.PositionIds.Span[r] = length;
                var row = mask.Slice(r * width, width);
                row[..(length + 1)].Fill(1);
                row[(length + 1)..].Clear();
            }

            var started = Stopwatch.GetTimestamp();
            decoder.RunInPlace(io, rows, 1, width, slots, 0);
            ticks += Stopwatch.GetTimestamp() - started;
        }

        return ticks * 1000.0 / Stopwatch.Frequency / Steps;
    }
}
