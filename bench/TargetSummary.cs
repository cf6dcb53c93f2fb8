using System.Text.Json.Serialization;

namespace ChatCluster.Bench;

/// <summary>
/// A target's figures over its measured rounds: tokens/s as median and range of the rounds; latency
/// percentiles over every turn of every round (a round's 16 TTFTs alone make a poor p99); and, for targets
/// after the first, the ratio to the first target taken round by round (both ran back to back, so they saw
/// the same machine load) and then summarised.
/// </summary>
internal sealed record TargetSummary(
    string Name,
    Uri Create,
    Uri Send,
    Spread TokensPerSecond,
    Spread? RatioToFirst,
    double TtftP50Ms,
    double TtftMeanMs,
    double TtftP99Ms,
    double ItlP50Ms,
    double ItlP99Ms,
    int Errors,
    int WarmUpErrors,
    IReadOnlyList<RoundResult> Rounds)
{
    /// <summary>One node, or create node → send node (the JSON has both URLs instead).</summary>
    [JsonIgnore]
    public string Route => Create == Send ? Create.ToString() : $"{Create} → {Send}";

    public static TargetSummary Of(HttpTarget target, int warmUpErrors, IReadOnlyList<RoundResult> rounds, IReadOnlyList<RoundResult>? first)
    {
        var ttft = rounds.SelectMany(r => r.TtftMs).ToList();
        var itl = rounds.SelectMany(r => r.ItlMs).ToList();
        return new TargetSummary(
            target.Name, target.Create, target.Send,
            Spread.Of(rounds.Select(r => r.TokensPerSecond)),
            first is null ? null : Spread.Of(rounds.Zip(first, (r, f) => r.TokensPerSecond / f.TokensPerSecond)),
            Percentiles.Of(ttft, 0.5), ttft.Count == 0 ? 0 : ttft.Average(), Percentiles.Of(ttft, 0.99),
            Percentiles.Of(itl, 0.5), Percentiles.Of(itl, 0.99),
            rounds.Sum(r => r.Errors), warmUpErrors, rounds);
    }
}

/// <summary>Median and range of a figure over rounds.</summary>
internal sealed record Spread(double Median, double Min, double Max)
{
    public static Spread Of(IEnumerable<double> values)
    {
        var list = values.ToList();
        return new Spread(Percentiles.Of(list, 0.5), list.Min(), list.Max());
    }
}
