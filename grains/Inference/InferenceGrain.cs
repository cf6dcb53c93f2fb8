using System.Diagnostics;
using System.Runtime.CompilerServices;
using ChatCluster.Grains.Inference;
using ChatCluster.Inference;
using Orleans.Concurrency;
using Orleans.Placement;

namespace ChatCluster.InferenceGrains;

/// <summary>
/// The cluster's handle on one engine of one silo (key: <see cref="EngineKey"/>). Pinned there by
/// <see cref="EnginePlacement"/> and never moved; reentrant, because every stream it serves interleaves (the
/// engine's scheduler does the batching, this grain only hands requests in and deltas out).
/// </summary>
[EnginePlacement, Immovable(ImmovableKind.Any), Reentrant]
public sealed class InferenceGrain(LocalEngines engines, CallerWatch callers, ILocalSiloDetails silo) : Grain, IInferenceGrain
{
    private InferenceEngine _engine = null!;
    private string _device = "";

    private string Key => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Placement put it on the silo its key names; a key for a device this silo lacks is refused here.
        if (!EngineKey.TryParse(Key, out var address, out var device) || !address.Equals(silo.SiloAddress) || !engines.TryGet(device, out var engine))
        {
            throw new EngineUnavailableException($"The engine '{Key}' does not exist on silo {silo.SiloAddress}.");
        }

        (_engine, _device) = (engine, device);
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<ChatDelta> ChatAsync(ChatRequest request, SiloAddress caller, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The grain call's span (on this silo) names the engine, so a turn's trace shows where it ran.
        Activity.Current?.SetTag("chatcluster.engine", Key);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, callers.For(caller));
        await foreach (var delta in engines.Chat(_device, request, stop.Token)!)
        {
            yield return delta;
        }
    }

    public Task<EngineLoad> GetLoadAsync() => Task.FromResult(new EngineLoad
    {
        Engine = Key,
        Model = _engine.Info.Id,
        QueuedRequests = _engine.Scheduler.QueuedRequests,
        ActiveRows = _engine.Scheduler.ActiveRows,
        MaxBatchRows = _engine.Scheduler.Options.MaxBatchRows,
        Draining = engines.Draining,
    });
}
