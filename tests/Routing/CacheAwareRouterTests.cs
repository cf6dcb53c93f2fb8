using ChatCluster.Grains.Inference;
using ChatCluster.Silo.Routing;

namespace ChatCluster.Tests.Routing;

/// <summary>
/// The default routing policy's decisions from published loads (the loads a real cluster's engines report are
/// covered by <see cref="InferenceRoutingTests"/>; here each rule is pinned down on its own).
/// </summary>
public sealed class CacheAwareRouterTests
{
    private const string A = "127.0.0.1:11111@1/cpu";
    private const string B = "127.0.0.1:11112@1/cpu";

    private readonly EngineLoads _loads = new();

    [Fact]
    public void With_no_engine_the_router_says_none_is_serving()
    {
        var error = Assert.Throws<NoEngineException>(() => Router().Route(default, []));
        Assert.Contains("No inference engine is serving", error.Message, StringComparison.Ordinal);
        Assert.Empty(Router().Models);
    }

    [Fact]
    public void A_turn_goes_to_the_engine_holding_its_cache_even_when_that_engine_is_busier()
    {
        _loads.Publish([Load(A, active: 20), Load(B)]);

        Assert.Equal(new EngineRoute(A, RouteReason.Cache), Router().Route(new RouteHint(CacheEngine: A), []));
    }

    [Fact]
    public void Requests_queued_for_their_prefill_while_rows_are_free_do_not_send_a_turn_away_from_its_cache()
    {
        _loads.Publish([Load(A, active: 2, queued: 10), Load(B)]);

        Assert.Equal(new EngineRoute(A, RouteReason.Cache), Router().Route(new RouteHint(CacheEngine: A), []));
    }

    [Fact]
    public void A_turn_falls_back_to_the_least_loaded_engine_when_its_cache_engine_has_a_queue_past_the_limit_or_is_draining_or_gone()
    {
        var router = Router();
        _loads.Publish([Load(A, active: 32, queued: 9), Load(B)]);
        Assert.Equal(new EngineRoute(B, RouteReason.Fallback), router.Route(new RouteHint(CacheEngine: A), []));

        _loads.Publish([Load(A, draining: true), Load(B, active: 5)]);
        Assert.Equal(new EngineRoute(B, RouteReason.Fallback), router.Route(new RouteHint(CacheEngine: A), []));

        _loads.Publish([Load(B, active: 5)]);
        Assert.Equal(new EngineRoute(B, RouteReason.Fallback), router.Route(new RouteHint(CacheEngine: A), []));
    }

    [Fact]
    public void A_burst_between_two_load_reports_spreads_evenly_by_counting_its_own_decisions()
    {
        _loads.Publish([Load(A), Load(B)]);
        var router = Router();

        var routes = Enumerable.Range(0, 32).Select(_ => router.Route(default, [])).ToList();

        Assert.All(routes, r => Assert.Equal(RouteReason.LeastLoaded, r.Reason));
        Assert.Equal(16, routes.Count(r => r.Engine == A));
    }

    [Fact]
    public void A_prefix_goes_to_the_same_engine_from_every_silo_and_different_prefixes_use_both()
    {
        _loads.Publish([Load(A), Load(B)]);
        var prefixes = Enumerable.Range(0, 64).Select(i => $"prefix:{i:x8}").ToList();

        // Two routers stand for two front silos: no state shared, the same choice.
        var first = prefixes.Select(p => Router().Route(new RouteHint(PrefixKey: p), [])).ToList();
        var second = prefixes.Select(p => Router().Route(new RouteHint(PrefixKey: p), [])).ToList();

        Assert.Equal(first, second);
        Assert.All(first, r => Assert.Equal(RouteReason.Prefix, r.Reason));
        Assert.InRange(first.Count(r => r.Engine == A), 16, 48);
    }

    [Fact]
    public void A_prefix_engine_busier_than_the_least_loaded_by_more_than_the_slack_is_passed_over()
    {
        _loads.Publish([Load(A), Load(B)]);
        var prefix = "prefix:hot";
        var preferred = Router().Route(new RouteHint(PrefixKey: prefix), []).Engine;
        var other = preferred == A ? B : A;

        _loads.Publish([Load(preferred, active: 3), Load(other)]);

        Assert.Equal(new EngineRoute(other, RouteReason.Fallback), Router().Route(new RouteHint(PrefixKey: prefix), []));
    }

    [Fact]
    public void An_engine_that_failed_is_skipped_until_it_reports_again_and_excluded_engines_are_never_chosen()
    {
        _loads.Publish([Load(A), Load(B, active: 10)]);
        var router = Router();

        router.MarkFailed(A);
        Assert.Equal(B, router.Route(default, []).Engine);
        Assert.Throws<NoEngineException>(() => router.Route(default, [B]));

        _loads.Publish([Load(A), Load(B, active: 10)]);
        Assert.Equal(A, router.Route(default, []).Engine);
    }

    [Fact]
    public void Routing_off_picks_engines_at_random_and_says_so()
    {
        _loads.Publish([Load(A), Load(B)]);
        var router = new CacheAwareRouter(_loads, new RoutingOptions { Random = true });

        var routes = Enumerable.Range(0, 200).Select(_ => router.Route(new RouteHint(CacheEngine: A), [])).ToList();

        Assert.All(routes, r => Assert.Equal(RouteReason.Random, r.Reason));
        Assert.InRange(routes.Count(r => r.Engine == A), 60, 140);
    }

    private CacheAwareRouter Router() => new(_loads, new RoutingOptions());

    private static EngineLoad Load(string engine, int active = 0, int queued = 0, bool draining = false) => new()
    {
        Engine = engine,
        Model = "tiny-model",
        ActiveRows = active,
        QueuedRequests = queued,
        MaxBatchRows = 32,
        Draining = draining,
    };
}
