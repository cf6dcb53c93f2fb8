namespace ChatCluster.Bench;

/// <summary>
/// The cluster mode: a redis-server and two silos on it, all on this machine (<see cref="LocalCluster"/>), then
/// the http mode with a conversation created and driven through silo A ("local") against one created through A
/// and driven through B ("remote": every token crosses from A's grain to B over Orleans). Writes stack.md and stack.json.
/// </summary>
internal static class ClusterLauncher
{
    public static async Task<int> RunAsync(HttpBenchOptions options, CancellationToken cancellationToken)
    {
        using var cluster = await LocalCluster.StartAsync(["silo A", "silo B"], options.Model, new Dictionary<string, string>(), cancellationToken);
        var (urlA, urlB) = (cluster.Silos[0].Url, cluster.Silos[1].Url);

        var targets = new[] { HttpTarget.Parse($"local={urlA}"), HttpTarget.Parse($"remote={urlA},{urlB}") };
        var setup = "Two silo processes (--gateway-port 0, --cluster-id bench) on one redis-server (AOF on), the bench " +
            "client alongside, all on this machine; local: conversations created and driven through silo A; remote: " +
            "created through A, driven through B";
        return await new HttpBenchmark(options with { Targets = targets }).RunAsync("stack", setup, cancellationToken);
    }
}
