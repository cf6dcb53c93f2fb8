namespace ChatCluster.Bench;

/// <summary>
/// The roles mode: what splitting silos into front and inference roles costs and what routing by cache gains,
/// each as interleaved rounds of the http mode on clusters of processes started here (each its own redis-server).
/// <list type="number">
/// <item>hop: one <c>--role all</c> silo against a front silo with one inference silo behind it (every token
/// crosses from the inference grain to the conversation grain between processes): tokens/s at
/// <c>--streams</c>; writes roles-hop.md/.json.</item>
/// <item>cache: one cluster of two inference silos and two front silos, one routing by cache (the default) and
/// one with <c>--routing random</c>; each measured turn is a conversation's second, whose history the engine
/// that served the first still holds: turn-2 TTFT; writes roles-cache.md/.json.</item>
/// </list>
/// </summary>
internal static class RolesBenchmark
{
    public static async Task<int> RunAsync(HttpBenchOptions options, CancellationToken cancellationToken)
    {
        var hop = 0;
        if (options.Phases.Contains("hop"))
        {
            hop = await RunHopAsync(options, cancellationToken);
        }

        return options.Phases.Contains("cache") ? Math.Max(hop, await RunCacheAsync(options, cancellationToken)) : hop;
    }

    private static async Task<int> RunHopAsync(HttpBenchOptions options, CancellationToken cancellationToken)
    {
        using var all = await LocalCluster.StartAsync([("all", (IReadOnlyList<string>)[])], options.Model, new Dictionary<string, string>(), cancellationToken);
        using var split = await LocalCluster.StartAsync(
            [("inference", ["--role", "inference"]), ("front", ["--role", "front"])], options.Model, new Dictionary<string, string>(), cancellationToken);
        var targets = new[] { HttpTarget.Parse($"all={all.Silos[0].Url}"), HttpTarget.Parse($"front+inference={split.Silos[1].Url}") };
        return await new HttpBenchmark(options with { Targets = targets }).RunAsync("roles-hop",
            "Two clusters on this machine, each on its own redis-server: one --role all silo; a --role front silo with one " +
            "--role inference silo behind it. Conversations created and driven through the all silo or the front silo.", cancellationToken);
    }

    private static async Task<int> RunCacheAsync(HttpBenchOptions options, CancellationToken cancellationToken)
    {
        using var cluster = await LocalCluster.StartAsync(
            [("inference A", ["--role", "inference"]), ("inference B", ["--role", "inference"]),
             ("front cache", ["--role", "front"]), ("front random", ["--role", "front", "--routing", "random"])],
            options.Model, new Dictionary<string, string>(), cancellationToken);
        var fronts = new[] { HttpTarget.Parse($"cache={cluster.Silos[2].Url}"), HttpTarget.Parse($"random={cluster.Silos[3].Url}") };
        return await new HttpBenchmark(options with { Targets = fronts, SecondTurns = true }).RunAsync("roles-cache",
            "One cluster: two --role inference silos and two --role front silos on one redis-server; cache: a front routing by " +
            "cache (default), random: a front with --routing random. Each measured turn is the second turn of a new conversation " +
            "(its first runs untimed just before), created and driven through that front.", cancellationToken);
    }
}
