using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ChatCluster.Bench.Peers;

/// <summary>
/// What every peer program (bench/genai-peer, bench/llama-peer) does around its own generate loop: the bench's
/// line protocol on stdin/stdout, rounds repeated for their seconds, and the same JSON figures, so that the bench
/// reads all peers alike. Linked into each peer's project.
/// </summary>
internal static class PeerRounds
{
    /// <summary>
    /// Answers the bench until it says quit:
    ///   run TOKENS SECONDS IDS;IDS;...   a timed round of static batches of the prompts (one row each): JSON figures
    ///   ids TOKENS IDS                   one prompt's greedy ids (end tokens count), comma-separated
    /// <paramref name="generate"/> runs one static batch and returns its first row's new ids; it is given timings
    /// to record in a timed round (where it also ignores end tokens), null otherwise.
    /// </summary>
    public static async Task<int> ServeAsync(Func<int[][], int, (List<double> Ttft, List<double> Itl)?, Task<int[]>> generate)
    {
        Console.WriteLine("ready");
        while (Console.ReadLine() is { } line)
        {
            var parts = line.Split(' ', 4);
            switch (parts[0])
            {
                case "run":
                    int[][] prompts = [.. parts[3].Split(';').Select(ParseIds)];
                    var tokens = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    Console.WriteLine(await RunAsync(prompts.Length, tokens, double.Parse(parts[2], CultureInfo.InvariantCulture),
                        timings => generate(prompts, tokens, timings)));
                    break;
                case "ids":
                    Console.WriteLine(string.Join(',', await generate([ParseIds(parts[2])], int.Parse(parts[1], CultureInfo.InvariantCulture), null)));
                    break;
                case "quit":
                    return 0;
                default:
                    Console.Error.WriteLine($"unknown command {parts[0]}");
                    return 2;
            }
        }

        return 0;
    }

    private static int[] ParseIds(string text) => [.. text.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];

    /// <summary>
    /// Runs <paramref name="generate"/> (one static batch of every prompt, recording time to first token and
    /// inter-token latencies) until <paramref name="seconds"/> have passed; returns the round's figures as JSON.
    /// </summary>
    private static async Task<string> RunAsync(int promptCount, int tokens, double seconds, Func<(List<double> Ttft, List<double> Itl), Task> generate)
    {
        var ttft = new List<double>();
        var itl = new List<double>();
        var clock = Stopwatch.StartNew();
        var jobs = 0;
        do
        {
            await generate((ttft, itl));
            jobs++;
        }
        while (clock.Elapsed.TotalSeconds < seconds);

        var elapsed = clock.Elapsed.TotalSeconds;
        return JsonSerializer.Serialize(new Dictionary<string, double>
        {
            ["jobs"] = jobs,
            ["seconds"] = elapsed,
            ["tokens_per_second"] = (double)jobs * promptCount * tokens / elapsed,
            ["step_ms"] = itl.Count > 0 ? itl.Average() : 0,
            ["ttft_p50_ms"] = Percentile(ttft, 0.5),
            ["ttft_p99_ms"] = Percentile(ttft, 0.99),
            ["itl_p50_ms"] = Percentile(itl, 0.5),
            ["itl_p99_ms"] = Percentile(itl, 0.99),
        });
    }

    private static double Percentile(List<double> values, double q)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
    }
}
