namespace ChatCluster.Bench;

internal static class Percentiles
{
    /// <summary>Nearest-rank percentile of unsorted samples (0 when there are none).</summary>
    public static double Of(List<double> samples, double quantile)
    {
        if (samples.Count == 0)
        {
            return 0;
        }

        samples.Sort();
        return samples[Math.Min(samples.Count - 1, (int)(quantile * samples.Count))];
    }
}
