using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Cluster;

/// <summary>
/// Two silos on the bundled model (its longer window makes a reply last long enough to hang up in the middle of
/// it) with one batch row per engine: a row that was not freed would block the next request.
/// </summary>
public sealed class TwoSiloFixture() : TwoSiloCluster(static redis => ["--redis", redis, "--max-batch", "1"]);
