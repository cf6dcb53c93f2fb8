namespace ChatCluster.Bench;

/// <summary>
/// One row of the scaling table: an engine at one concurrency level, over its measured rounds. Tokens/s is the
/// median of the rounds with their min and max; the latencies are medians of the rounds' figures. Peak RSS is the
/// engine's process's high-water mark over this level alone (reset before it); allocation per decode step is the
/// engine's scheduler thread's (steady state), unknown for the peers. Tokens per CPU-second: the round's tokens
/// over the CPU time of the process that made them (the bench's own for the engine), median of the rounds.
/// </summary>
internal sealed record LevelResult(
    string Engine,
    int Concurrency,
    double TokensPerSecond,
    double TokensPerSecondMin,
    double TokensPerSecondMax,
    double StepMs,
    double TtftP50Ms,
    double TtftP99Ms,
    double ItlP50Ms,
    double ItlP99Ms,
    double PeakRssMb,
    double? AllocatedBytesPerStep,
    double[] RoundTokensPerSecond,
    StepPhases? Phases,
    double TokensPerCpuSecond);

/// <summary>An engine's tokens/s over another's, taken round by round (round i of both ran back to back).</summary>
internal sealed record RatioResult(int Concurrency, string Engine, string Versus, double Median, double Min, double Max, double[] Rounds);

/// <summary>What one engine measured in one round.</summary>
internal sealed record Measurement(
    double TokensPerSecond,
    double StepMs,
    double TtftP50Ms,
    double TtftP99Ms,
    double ItlP50Ms,
    double ItlP99Ms,
    double? AllocatedBytesPerStep,
    StepPhases? Phases = null);

/// <summary>
/// Where the engine's scheduler loop spent a round, in ms per step: prefill calls, batch rebuilds (KV rows copied
/// on joins and leaves), the decode model call, sampling and streaming out; Idle is the rest of the wall time
/// (the loop waiting for the next batch of requests).
/// </summary>
internal sealed record StepPhases(double PrefillMs, double RebuildMs, double ModelMs, double SampleMs, double IdleMs);
