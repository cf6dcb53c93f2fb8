using System.Globalization;

namespace ChatCluster.Bench;

/// <summary>Reads values out of a Prometheus text exposition (a silo's /metrics), enough for the load mode's gauges.</summary>
internal static class PrometheusText
{
    /// <summary>
    /// The sum over the series of <paramref name="metric"/> whose labels contain <paramref name="label"/> (such as
    /// grain_type="conversation"; null for all series), or null when the silo exports no such series.
    /// </summary>
    public static double? Sum(string text, string metric, string? label = null)
    {
        double? sum = null;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith(metric, StringComparison.Ordinal) || line.Length == metric.Length || line[metric.Length] is not ('{' or ' '))
            {
                continue; // a comment, another metric, or a longer name with this one as its prefix
            }

            var space = line.LastIndexOf(' ');
            if (label is not null && !line[..space].Contains(label, StringComparison.Ordinal))
            {
                continue;
            }

            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                sum = (sum ?? 0) + value;
            }
        }

        return sum;
    }
}
