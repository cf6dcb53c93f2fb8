using System.Text.Json.Serialization;

namespace ChatCluster.Bench;

/// <summary>
/// One target's round: every client's turn at once. Tokens/s is the sum of the completion tokens the server
/// reported over the wall time from the first request sent to the last stream done, so a slow straggler
/// lowers it as it lowers what the server delivers.
/// </summary>
internal sealed record RoundResult(
    double TokensPerSecond,
    double WallSeconds,
    int CompletionTokens,
    double TtftP50Ms,
    double TtftP99Ms,
    double ItlP50Ms,
    double ItlP99Ms,
    int Errors,
    [property: JsonIgnore] List<double> TtftMs,
    [property: JsonIgnore] List<double> ItlMs,
    [property: JsonIgnore] List<string> ErrorMessages)
{
    public static RoundResult Of(TurnResult[] turns, TimeSpan wall)
    {
        var ok = turns.Where(t => t.Error is null).ToList();
        var tokens = ok.Sum(t => t.CompletionTokens);
        var ttft = ok.Select(t => t.TtftMs).ToList();
        var itl = ok.SelectMany(t => t.GapsMs).ToList();
        return new RoundResult(
            tokens / wall.TotalSeconds, wall.TotalSeconds, tokens,
            Percentiles.Of(ttft, 0.5), Percentiles.Of(ttft, 0.99),
            Percentiles.Of(itl, 0.5), Percentiles.Of(itl, 0.99),
            turns.Length - ok.Count, ttft, itl,
            turns.Select(t => t.Error).OfType<string>().ToList());
    }
}
