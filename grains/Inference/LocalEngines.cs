using System.Diagnostics.CodeAnalysis;
using ChatCluster.Grains.Inference;
using ChatCluster.Inference;

namespace ChatCluster.InferenceGrains;

/// <summary>
/// The engines this silo loaded at start-up, one per device (<c>--device cpu</c>, or <c>cuda:0,cuda:1</c>), in
/// the order given. A DI singleton: the inference grains, pinned to this silo, take their engine from here, so
/// the model is loaded before the node answers /healthz and outlives any grain activation.
/// </summary>
public sealed class LocalEngines(IReadOnlyList<(string Device, InferenceEngine Engine)> engines) : ILocalEngines, IDisposable
{
    private volatile bool _draining;

    public IReadOnlyList<string> Devices { get; } = [.. engines.Select(e => e.Device)];

    public IEnumerable<InferenceEngine> All => engines.Select(e => e.Engine);

    /// <summary>Set when the silo begins to shut down: engines finish what they run and refuse new requests.</summary>
    public bool Draining => _draining;

    /// <summary>Requests queued or running on every engine here.</summary>
    public int Outstanding => engines.Sum(e => e.Engine.Scheduler.QueuedRequests + e.Engine.Scheduler.ActiveRows);

    public bool TryGet(string device, [NotNullWhen(true)] out InferenceEngine? engine)
    {
        engine = engines.FirstOrDefault(e => e.Device == device).Engine;
        return engine is not null;
    }

    public void BeginDrain() => _draining = true;

    public IAsyncEnumerable<ChatDelta>? Chat(string device, ChatRequest request, CancellationToken cancellationToken) =>
        !TryGet(device, out var engine) ? null
        : Draining ? Refused(device)
        : engine.ChatAsync(request, cancellationToken);

    /// <summary>A stream that fails at its first step, so that a caller routes the request elsewhere.</summary>
    private static async IAsyncEnumerable<ChatDelta> Refused(string device)
    {
        await Task.CompletedTask;
        throw new EngineUnavailableException($"The engine on {device} is draining (its silo is shutting down).");
#pragma warning disable CS0162 // an iterator needs a yield to be one
        yield break;
#pragma warning restore CS0162
    }

    public void Dispose()
    {
        foreach (var (_, engine) in engines)
        {
            engine.Dispose();
        }
    }
}
