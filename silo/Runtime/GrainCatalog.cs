using System.Collections.Concurrent;
using System.Collections.Frozen;
using ChatCluster.Grains;
using ChatCluster.Silo.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChatCluster.Silo.Runtime;

/// <summary>
/// The silo's activation table (as Orleans' Catalog): routes each call to the one activation of its grain,
/// creating it on the first call; collects idle activations; deactivates everything when the silo stops.
/// </summary>
internal sealed partial class GrainCatalog : IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<GrainId, GrainActivation> _activations = new();
    private readonly FrozenDictionary<Type, GrainType> _types;
    private readonly IGrainStorage _storage;
    private readonly GrainRuntimeOptions _options;
    private readonly ITimer _collectionTimer;
    private readonly CancellationTokenSource _stopping = new();

    public GrainCatalog(
        IEnumerable<GrainType> types,
        IServiceProvider services,
        IGrainStorage storage,
        IOptions<GrainRuntimeOptions> options,
        TimeProvider time,
        ILogger<GrainCatalog> logger)
    {
        _types = BuildTypeTable(types);
        _storage = storage;
        _options = options.Value;
        Services = services;
        Time = time;
        Logger = logger;
        GrainFactory = new GrainFactory(this);
        _collectionTimer = time.CreateTimer(
            static catalog => ((GrainCatalog)catalog!).CollectIdleActivations(), this, _options.CollectionQuantum, _options.CollectionQuantum);
    }

    public IGrainFactory GrainFactory { get; }

    public IServiceProvider Services { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    /// <summary>Cancelled when the silo starts stopping; given to OnActivateAsync and state reads.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>How many activations the table holds (tests watch activation and collection with it).</summary>
    public int ActivationCount => _activations.Count;

    /// <summary>The grain's activation while it is in the table (diagnostics and tests).</summary>
    public GrainActivation? FindActivation(GrainId id) => _activations.GetValueOrDefault(id);

    public GrainType GetGrainType(Type interfaceType) =>
        _types.GetValueOrDefault(interfaceType)
        ?? throw new InvalidOperationException(
            $"{interfaceType.Name} is not a registered grain interface; register it with AddGrain<{interfaceType.Name}, TImplementation>().");

    /// <summary>
    /// Queues the call at its grain's activation, activating the grain if needed. A call that meets an
    /// activation on its way out waits until it has left the table (its state written back), then goes to a
    /// new one: one activation per grain at a time, and no call lost.
    /// </summary>
    public void Send(GrainType type, GrainId id, GrainMessage message)
    {
        while (true)
        {
            if (_stopping.IsCancellationRequested)
            {
                message.Fail(new InvalidOperationException($"The silo is stopping; the call to {id} was not accepted."));
                return;
            }

            var activation = _activations.GetOrAdd(id, static (id, arg) => new GrainActivation(arg.Catalog, arg.Type, id), (Catalog: this, Type: type));
            if (activation.TryEnqueue(message))
            {
                return;
            }

            if (!activation.Deactivated.IsCompleted)
            {
                activation.Deactivated.ContinueWith(
                    static (_, state) =>
                    {
                        var (catalog, type, id, message) = ((GrainCatalog, GrainType, GrainId, GrainMessage))state!;
                        catalog.Send(type, id, message);
                    },
                    (this, type, id, message),
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
                return;
            }

            // Already out of the table: the next GetOrAdd creates its successor.
        }
    }

    public void Remove(GrainActivation activation) => _activations.TryRemove(KeyValuePair.Create(activation.Id, activation));

    /// <summary>Binds an IPersistentState&lt;<paramref name="stateType"/>&gt; to the storage under the grain's id.</summary>
    public IGrainStateBinding CreateStateBinding(Type stateType, GrainId id) =>
        (IGrainStateBinding)Activator.CreateInstance(typeof(PersistentState<>).MakeGenericType(stateType), _storage, id)!;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Refuses new calls, lets queued ones finish, and deactivates every grain (state written back). Returns
    /// early, leaving activations behind, if <paramref name="cancellationToken"/> fires first.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _collectionTimer.DisposeAsync().ConfigureAwait(false);
        // Calls that passed the stopping check just before it may still add activations: repeat until empty.
        while (!_activations.IsEmpty)
        {
            var activations = _activations.Values;
            foreach (var activation in activations)
            {
                activation.BeginShutdown();
            }

            await Task.WhenAll(activations.Select(static activation => activation.Deactivated)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        LogStopped(Logger);
    }

    /// <summary>Releases the collection timer; deactivating the grains is <see cref="StopAsync"/>'s job, which the host calls first.</summary>
    public void Dispose()
    {
        _collectionTimer.Dispose();
        _stopping.Dispose();
    }

    private static FrozenDictionary<Type, GrainType> BuildTypeTable(IEnumerable<GrainType> types)
    {
        var table = new Dictionary<Type, GrainType>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            if (!table.TryAdd(type.Interface, type) || !names.Add(type.Name))
            {
                throw new InvalidOperationException($"The grain interface {type.Interface.Name} (or another of the same name) is registered twice.");
            }
        }

        return table.ToFrozenDictionary();
    }

    private void CollectIdleActivations()
    {
        foreach (var (_, activation) in _activations)
        {
            activation.TryBeginIdleDeactivation(_options.IdleTimeout);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Grain runtime stopped: all activations deactivated")]
    private static partial void LogStopped(ILogger logger);
}
