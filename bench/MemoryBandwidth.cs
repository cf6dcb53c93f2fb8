using System.Diagnostics;
using System.Numerics;

namespace ChatCluster.Bench;

/// <summary>
/// This machine's memory read bandwidth as a decode step sees it: the given number of threads each summing its
/// share of a buffer far larger than the caches (SIMD, streaming through once), best of a few passes.
/// </summary>
internal static class MemoryBandwidth
{
    public static double ReadGigabytesPerSecond(int threads, int megabytes = 512, int passes = 7)
    {
        var data = new float[megabytes * 1024L * 1024 / sizeof(float)];
        Array.Fill(data, 1f);   // touch every page before timing
        var best = double.MaxValue;
        var sink = 0f;
        for (var pass = 0; pass < passes; pass++)
        {
            var partial = new float[threads];
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var length = data.Length / threads;
                partial[t] = Sum(data.AsSpan(t * length, length));
            });
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
            sink += partial.Sum();
        }

        // The sum is checked so that the reads cannot be optimised away.
        return sink > 0 ? data.LongLength * sizeof(float) / best / 1e9 : throw new InvalidOperationException("no data read");
    }

    private static float Sum(Span<float> span)
    {
        var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector<float>>(span);
        Vector<float> a = default, b = default, c = default, d = default;
        var i = 0;
        for (; i + 4 <= vectors.Length; i += 4)
        {
            a += vectors[i];
            b += vectors[i + 1];
            c += vectors[i + 2];
            d += vectors[i + 3];
        }

        for (; i < vectors.Length; i++)
        {
            a += vectors[i];
        }

        return Vector.Sum(a + b + c + d);
    }
}
