using ChatCluster.Grains;
using ChatCluster.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatCluster.Silo.Runtime;

/// <summary>Registers the grain runtime and the grains a silo hosts.</summary>
public static class GrainRuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the activation table, <see cref="IGrainFactory"/>, in-memory grain storage unless another
    /// <see cref="IGrainStorage"/> is registered, and a hosted service that deactivates every grain when the host stops.
    /// </summary>
    public static IServiceCollection AddGrainRuntime(this IServiceCollection services, Action<GrainRuntimeOptions>? configure = null)
    {
        var options = services.AddOptions<GrainRuntimeOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(
            static o => o.IdleTimeout > TimeSpan.Zero && o.CollectionQuantum > TimeSpan.Zero,
            "GrainRuntimeOptions.IdleTimeout and CollectionQuantum must be positive.");
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IGrainStorage, MemoryGrainStorage>();
        services.TryAddSingleton<GrainCatalog>();
        services.TryAddSingleton(static provider => provider.GetRequiredService<GrainCatalog>().GrainFactory);
        services.AddHostedService(static provider => provider.GetRequiredService<GrainCatalog>());
        return services;
    }

    /// <summary>Hosts <typeparamref name="TImplementation"/> behind <typeparamref name="TInterface"/>; checks the pair now.</summary>
    public static IServiceCollection AddGrain<TInterface, TImplementation>(this IServiceCollection services)
        where TInterface : IGrain
        where TImplementation : Grain, TInterface
    {
        services.AddSingleton(GrainType.Create(typeof(TInterface), typeof(TImplementation)));
        return services;
    }
}
