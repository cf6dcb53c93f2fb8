namespace ChatCluster.Bench;

/// <summary>
/// One sample of the load mode: seconds since the clients started, the turns finished since the previous sample
/// (tokens/s over that interval, latency percentiles), and every silo's memory and Redis's at that moment.
/// </summary>
internal sealed record LoadSample(
    double Seconds,
    double TokensPerSecond,
    int Turns,
    int Errors,
    double TtftP50Ms,
    double EndToEndP50Ms,
    double EndToEndP99Ms,
    double? RedisRssMb,
    IReadOnlyList<SiloMemory> Silos);
