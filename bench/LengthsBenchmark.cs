using System.Diagnostics;
using System.Text;
using ChatCluster.Inference.Model;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// What a fused graph's decode call costs when the rows of a batch hold different lengths, as continuous batching
/// always has them, against rows of one length, as a static batch (ONNX Runtime GenAI's) has them. The same model
/// session, the same slots and the same number of rows; each run is 64 decode calls in which every row grows by one
/// token, all from 64 tokens (equal), or from 64 + (row mod 4) - 2 (0-3 apart), or from 64 + 4 x (row mod 16) - 30
/// (0-60 apart), or all from 64 but the first row from 65: about the same mean length, so the same attention work.
/// Arrangements take turns run by run; the median of each over the rounds is reported with its ratio to equal.
///   dotnet run -c Release --project bench -- lengths [--model DIR] [--rows 16] [--rounds 15] [--out bench/results/fused]
/// </summary>
internal static class LengthsBenchmark
{
    private const int Steps = 64;
    private const int Start = 64;

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

        using var decoder = DecoderModel.Load(model, ExecutionDevice.Cpu, graph: "model.fused.onnx");
        var longest = Start + Arrangements.Max(a => a.Offset(rows - 1)) + Steps;
        var slots = new KvSlots(decoder.KvShape, decoder.Config.ContextWindow, initialSlots: rows, initialLength: longest);
        var io = new ModelStepBuffers();
        var times = Arrangements.Select(_ => new List<double>()).ToArray();
        AnsiConsole.MarkupLine($"[bold]Decode call by row lengths[/] {rows} rows, {Steps} calls a run, {rounds} rounds; {Markup.Escape(MachineInfo.Line)}");
        for (var round = -1; round < rounds; round++)
        {
            for (var a = 0; a < Arrangements.Length; a++)
            {
                var ms = Run(decoder, slots, io, rows, Arrangements[a].Offset);
                if (round >= 0)
                {
                    times[a].Add(ms);
                }
            }
        }

        var medians = times.Select(t => Percentiles.Of(t, 0.5)).ToArray();
        var md = new StringBuilder();
        md.Append($"Machine: {MachineInfo.Line}\n\nCommand: `{string.Join(' ', ["dotnet run -c Release --project bench -- lengths", .. args])}`\n\n");
        md.Append($"Model {Path.GetFileName(model)}, model.fused.onnx, {rows} rows bound in place, ONNX Runtime's default threads, " +
            $"spinning off. A run: {Steps} decode calls, every row one token longer each call, from {Start} + the arrangement's offset; " +
            $"{rounds} rounds after one warm-up, arrangements in turn within a round.\n\n");
        md.Append("| rows | ms per decode call, median (min-max) | x equal lengths |\n|---|---|---|\n");
        for (var a = 0; a < Arrangements.Length; a++)
        {
            md.Append($"| {Arrangements[a].Name} | {medians[a]:F3} ({times[a].Min():F3}-{times[a].Max():F3}) | {medians[a] / medians[0]:F2} |\n");
            AnsiConsole.MarkupLine($"  {Arrangements[a].Name}: {medians[a]:F3} ms per call, {medians[a] / medians[0]:F2}x equal");
        }

        Directory.CreateDirectory(output);
        await File.WriteAllTextAsync(Path.Combine(output, "lengths.md"), md.ToString());
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(output)}/lengths.md");
        return 0;
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
