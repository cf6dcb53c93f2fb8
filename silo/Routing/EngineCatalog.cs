using ChatCluster.Grains.Inference;
using ChatCluster.Silo.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace ChatCluster.Silo.Routing;

/// <summary>
/// The engines of the cluster and their load, as this silo's router sees them. Every
/// <see cref="PollInterval"/> it lists the active silos that advertise engines (silo metadata
/// <see cref="SiloRoles.DevicesKey"/>, set at start-up and visible cluster-wide through membership) and asks
/// each engine for its load, all at once, and publishes them in <see cref="EngineLoads"/>. Routing reads that: no remote call and no Redis
/// round trip per decision. An engine whose silo left membership, or that did not answer its poll, drops out
/// of the next snapshot.
/// </summary>
internal sealed partial class EngineCatalog(
    EngineLoads loads, IClusterMembershipService membership, ISiloMetadataCache metadata, IGrainFactory grains, ILogger<EngineCatalog> logger) : BackgroundService
{
    /// <summary>How often engines' loads are read: often enough that a burst sees fresh counts, cheap enough to ignore.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>A poll that takes longer than this counts as no answer (a silo that died and is not yet declared dead).</summary>
    private static readonly TimeSpan PollTimeout = TimeSpan.FromSeconds(1);

    /// <summary>How long start-up waits for the first poll, so that a node's engines are known when it first listens.</summary>
    private static readonly TimeSpan FirstPollWait = TimeSpan.FromSeconds(5);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Started after the Orleans silo and before Kestrel: one poll first, so /healthz answers 200 as soon as the
        // node listens (a node whose engines are elsewhere and not up yet moves on after the wait and polls on).
        RoutingTelemetry.Track(loads);
        using var firstPoll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        firstPoll.CancelAfter(FirstPollWait);
        try
        {
            await RefreshAsync(firstPoll.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Engines that did not answer in time are picked up by the next polls.
        }

        await base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        RoutingTelemetry.Untrack(loads);
        return base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await RefreshAsync(stoppingToken);
        }
    }

    /// <summary>Reads every engine's load once and publishes the new snapshot.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active
                && metadata.GetSiloMetadata(member.SiloAddress).Metadata.TryGetValue(SiloRoles.DevicesKey, out var devices))
            {
                keys.AddRange(SiloRoles.ParseDevices(devices).Select(device => EngineKey.Of(member.SiloAddress, device)));
            }
        }

        var reports = await Task.WhenAll(keys.Select(key => PollAsync(key, cancellationToken)));
        loads.Publish(reports.OfType<EngineLoad>());
    }

    private async Task<EngineLoad?> PollAsync(string engine, CancellationToken cancellationToken)
    {
        try
        {
            return await grains.GetGrain<IInferenceGrain>(engine).GetLoadAsync().WaitAsync(PollTimeout, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            PollFailed(logger, engine, e.GetType().Name);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Engine {Engine} did not report its load ({Failure}); it is left out of routing until it does.")]
    private static partial void PollFailed(ILogger logger, string engine, string failure);
}
