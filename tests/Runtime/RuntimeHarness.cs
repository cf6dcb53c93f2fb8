using ChatCluster.Grains;
using ChatCluster.Silo.Runtime;
using ChatCluster.Silo.Storage;
using ChatCluster.Tests.Runtime.Grains;
using Microsoft.Extensions.DependencyInjection;

namespace ChatCluster.Tests.Runtime;

/// <summary>The grain runtime in a real DI container with the test grains registered and a manual clock.</summary>
public sealed class RuntimeHarness : IAsyncDisposable
{
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan CollectionQuantum = TimeSpan.FromMinutes(1);

    private readonly ServiceProvider _services;

    public RuntimeHarness()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<ActivationJournal>();
        services.AddSingleton<Rendezvous>();
        services.AddSingleton<GrainEventLog>();
        services.AddGrainRuntime(options =>
        {
            options.IdleTimeout = IdleTimeout;
            options.CollectionQuantum = CollectionQuantum;
        });
        services.AddGrain<ITurnRecorderGrain, TurnRecorderGrain>();
        services.AddGrain<IMeetingGrain, MeetingGrain>();
        services.AddGrain<IReentrantMeetingGrain, ReentrantMeetingGrain>();
        services.AddGrain<IStreamingGrain, StreamingGrain>();
        services.AddGrain<IFaultGrain, FaultGrain>();
        services.AddGrain<ICounterGrain, CounterGrain>();
        services.AddGrain<IRelayGrain, RelayGrain>();
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public ManualTimeProvider Time { get; } = new();

    public IGrainFactory Factory => _services.GetRequiredService<IGrainFactory>();

    internal GrainCatalog Catalog => _services.GetRequiredService<GrainCatalog>();

    public ActivationJournal Journal => _services.GetRequiredService<ActivationJournal>();

    public GrainEventLog Events => _services.GetRequiredService<GrainEventLog>();

    public IGrainStorage Storage => _services.GetRequiredService<IGrainStorage>();

    public static GrainId IdOf<TGrainInterface>(string key) => new(typeof(TGrainInterface).Name, key);

    /// <summary>Moves the clock past the idle timeout and waits until the grain's deactivation has finished.</summary>
    public async Task CollectIdleAsync(GrainId id)
    {
        var activation = Catalog.FindActivation(id) ?? throw new InvalidOperationException($"{id} is not active.");
        Time.Advance(IdleTimeout + CollectionQuantum);
        // Deactivation runs on the activation's pump; the bound turns a missed collection into a failure, not a hang.
        await activation.Deactivated.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await Catalog.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
    }
}
