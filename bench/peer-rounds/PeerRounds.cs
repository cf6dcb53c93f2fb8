using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ChatCluster.Bench.Peers;

/// <summary>
/// What every peer program (bench/genai-peer, bench/llama-peer) does around its own generate loop: parse the
/// bench's prompt ids, repeat the loop for the round's seconds, and answer with the same JSON figures, so that
/// the bench reads all peers alike. Linked into each peer's project.
/// </summary>
internal static class PeerRounds
{
    public static int[] ParseIds(string text) => [.. text.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];

    /// <summary>
    /// Runs <paramref name="generate"/> (one static batch of every prompt, recording time to first token and
    /// inter-token latencies) until <paramref name="seconds"/> have passed; returns the round's figures as JSON.
    /// </summary>
    public static async Task<string> RunAsync(int promptCount, int tokens, double seconds, Func<(List<double> Ttft, List<double> Itl), Task> generate)
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
