namespace ChatCluster.Bench;

/// <summary>One row of the scaling table: an engine at one concurrency level.</summary>
internal sealed record LevelResult(
    string Engine,
    int Concurrency,
    double TokensPerSecond,
    double StepMs,
    double TtftP50Ms,
    double TtftP99Ms,
    double ItlP50Ms,
    double ItlP99Ms,
    double PeakRssMb,
    double? AllocatedBytesPerStep);
