using System.Globalization;
using System.Text.RegularExpressions;

namespace ChatCluster.Tests.Infrastructure;

/// <summary>
/// One front silo and two inference silos, each its own process, on one real
/// redis-server: the split deployment. Inference silos start first, so the front's /healthz (which waits for
/// a known engine) answers once engines serve.
/// </summary>
public sealed partial class RoleCluster : IAsyncLifetime
{
    private const int InferenceSilos = 2;

    public RedisServer Redis { get; } = new();

    public SiloProcess Front { get; private set; } = null!;

    public List<SiloProcess> Engines { get; } = [];

    public async Task InitializeAsync()
    {
        await Redis.InitializeAsync();
        Engines.AddRange(await Task.WhenAll(Enumerable.Range(0, InferenceSilos).Select(_ => StartAsync("inference"))));
        Front = await StartAsync("front");

        // The front is ready once it knows one engine; the tests want it to know both before they send a burst.
        await AsyncTimeouts.UntilAsync(async () => EngineGauge().Matches(await Front.Client.GetStringAsync("/metrics")).Count == InferenceSilos,
            $"the front's router knows all {InferenceSilos} engines");
    }

    public Task<SiloProcess> StartAsync(string role) =>
        SiloProcess.StartAsync(["--role", role, "--model", TestPaths.TinyModel, "--redis", Redis.Endpoint]);

    public async Task DisposeAsync()
    {
        foreach (var silo in Engines.Append(Front).OfType<SiloProcess>())
        {
            await silo.DisposeAsync();
        }

        await Redis.DisposeAsync();
    }

    /// <summary>The front's routing decisions so far: (engine, reason) to count.</summary>
    public async Task<Dictionary<(string Engine, string Reason), long>> RoutingDecisionsAsync()
    {
        // The Prometheus exporter answers from its last scrape for 300 ms: wait that out, or a reading taken
        // soon after the previous one would miss what happened in between.
        await Task.Delay(TimeSpan.FromMilliseconds(350));
        var text = await Front.Client.GetStringAsync("/metrics");
        var decisions = new Dictionary<(string, string), long>();
        foreach (Match m in DecisionLine().Matches(text))
        {
            var labels = m.Groups["labels"].Value;
            var engine = Label().Matches(labels).First(l => l.Groups["name"].Value == "engine").Groups["value"].Value;
            var reason = Label().Matches(labels).First(l => l.Groups["name"].Value == "reason").Groups["value"].Value;
            decisions[(engine, reason)] = (long)double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return decisions;
    }

    /// <summary>What was counted between two readings of <see cref="RoutingDecisionsAsync"/>.</summary>
    public static Dictionary<(string Engine, string Reason), long> Since(
        Dictionary<(string Engine, string Reason), long> before, Dictionary<(string Engine, string Reason), long> after) =>
        after.Select(kv => (kv.Key, Count: kv.Value - before.GetValueOrDefault(kv.Key))).Where(kv => kv.Count > 0).ToDictionary(kv => kv.Key, kv => kv.Count);

    [GeneratedRegex(@"^chatcluster_routing_decisions_total\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex DecisionLine();

    [GeneratedRegex(@"^chatcluster_routing_engine_outstanding\{", RegexOptions.Multiline)]
    private static partial Regex EngineGauge();

    [GeneratedRegex(@"(?<name>\w+)=""(?<value>[^""]*)""")]
    private static partial Regex Label();
}
