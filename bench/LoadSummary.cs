namespace ChatCluster.Bench;

/// <summary>
/// What a load run comes to: per silo, its memory at the start (idle, after start-up), after one minute and at
/// the end, the slope of RSS over the last half of the run (near 0 when memory has levelled off), how far RSS
/// strays over the last third of the run from its mean over the minute before (the settle band: for a 15-minute
/// run, the last 5 minutes against minute 10), and the GC's pauses per minute over the last half; for the run,
/// its turns, errors, tokens/s and latency percentiles.
/// </summary>
internal sealed record LoadSummary(
    double WallSeconds,
    int Turns,
    int Errors,
    double TokensPerSecond,
    double TtftP50Ms,
    double TtftP99Ms,
    double EndToEndP50Ms,
    double EndToEndP99Ms,
    IReadOnlyList<LoadSummary.SiloSummary> Silos,
    double? RedisRssStartMb,
    double? RedisRssEndMb,
    IReadOnlyDictionary<string, int> ErrorMessages)
{
    /// <summary>Lowest and highest of a series, in percent above (+) or below (-) a reference level.</summary>
    public sealed record Band(double LowPercent, double HighPercent);

    public sealed record SiloSummary(
        string Silo,
        double? RssStartMb,
        double? RssAfter1MinMb,
        double? RssEndMb,
        double? RssPeakMb,
        double? RssSlopeLastHalfMbPerMin,
        double? GcHeapStartMb,
        double? GcHeapEndMb,
        double? GcFragmentationEndMb,
        double? PinnedHeapEndMb,
        double? GcCommittedEndMb,
        double? KvCacheEndMb,
        int? ConversationActivationsEnd,
        Band? RssSettleBand,
        double? GcPauseMsPerMinLastHalf);

    public static LoadSummary Of(IReadOnlyList<LoadSample> samples, LoadTally.Totals totals, TimeSpan wall)
    {
        var silos = samples[0].Silos.Select((silo, i) =>
        {
            var series = samples.Select(s => (s.Seconds, Memory: s.Silos[i])).ToList();
            var (first, last) = (series[0].Memory, series[^1].Memory);
            return new SiloSummary(silo.Silo, first.RssMb, AfterOneMinute(series)?.RssMb, last.RssMb,
                series.Max(s => s.Memory.RssMb), SlopeOfLastHalf([.. series.Select(s => (s.Seconds, s.Memory.RssMb))]),
                first.GcHeapMb, last.GcHeapMb, last.GcFragmentationMb, last.PinnedHeapMb, last.GcCommittedMb, last.KvCacheMb,
                last.ConversationActivations, SettleBand([.. series.Select(s => (s.Seconds, s.Memory.RssMb))]),
                PauseRateOfLastHalf([.. series.Select(s => (s.Seconds, s.Memory.GcPauseSeconds))]));
        }).ToList();
        return new LoadSummary(wall.TotalSeconds, totals.Turns, totals.Errors, totals.CompletionTokens / wall.TotalSeconds,
            totals.TtftP50Ms, totals.TtftP99Ms, totals.EndToEndP50Ms, totals.EndToEndP99Ms, silos,
            samples[0].RedisRssMb, samples[^1].RedisRssMb, totals.ErrorMessages);
    }

    /// <summary>The sample nearest to 60 s, or none when the run was shorter.</summary>
    private static SiloMemory? AfterOneMinute(List<(double Seconds, SiloMemory Memory)> series) =>
        series[^1].Seconds < 60 ? null : series.MinBy(s => Math.Abs(s.Seconds - 60)).Memory;

    /// <summary>
    /// The lowest and highest RSS over the run's last third, in percent of the mean over the minute before it;
    /// none for runs under 3 minutes.
    /// </summary>
    private static Band? SettleBand(List<(double Seconds, double? Mb)> series)
    {
        var start = series[^1].Seconds * 2 / 3;
        var reference = series.Where(p => p.Seconds >= start - 60 && p.Seconds < start && p.Mb is not null).Select(p => p.Mb!.Value).ToList();
        var last = series.Where(p => p.Seconds >= start && p.Mb is not null).Select(p => p.Mb!.Value).ToList();
        if (series[^1].Seconds < 180 || reference.Count == 0 || last.Count == 0)
        {
            return null;
        }

        var level = reference.Average();
        return new Band((last.Min() / level - 1) * 100, (last.Max() / level - 1) * 100);
    }

    /// <summary>Milliseconds the GC paused the process per minute, over the run's second half.</summary>
    private static double? PauseRateOfLastHalf(List<(double Seconds, double? PauseSeconds)> series)
    {
        var half = series.Where(p => p.Seconds >= series[^1].Seconds / 2 && p.PauseSeconds is not null).ToList();
        return half.Count < 2 || half[^1].Seconds <= half[0].Seconds
            ? null
            : (half[^1].PauseSeconds!.Value - half[0].PauseSeconds!.Value) * 1000 / ((half[^1].Seconds - half[0].Seconds) / 60);
    }

    /// <summary>
    /// Least-squares slope, in MB per minute, of the samples in the run's second half: the first half holds the
    /// warm-up (JIT, pools, caches filling up), the second whether anything still grows.
    /// </summary>
    private static double? SlopeOfLastHalf(List<(double Seconds, double? Mb)> series)
    {
        var half = series[^1].Seconds / 2;
        var points = series.Where(p => p.Seconds >= half && p.Mb is not null).Select(p => (X: p.Seconds / 60, Y: p.Mb!.Value)).ToList();
        if (points.Count < 2)
        {
            return null;
        }

        var (meanX, meanY) = (points.Average(p => p.X), points.Average(p => p.Y));
        var variance = points.Sum(p => (p.X - meanX) * (p.X - meanX));
        return variance == 0 ? null : points.Sum(p => (p.X - meanX) * (p.Y - meanY)) / variance;
    }
}
