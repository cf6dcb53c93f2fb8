using ChatCluster.Grains.Inference;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace ChatCluster.InferenceGrains;

/// <summary>
/// Places an inference grain on exactly the silo its key names (<see cref="EngineKey"/>), because the grain
/// is the handle of that silo's engine. A custom director rather than Orleans' silo-metadata placement filters:
/// those are experimental (ORLEANSEXP004) and match silos against the caller's metadata, which can narrow the
/// candidates to a role but not pin a grain to one silo; an engine is one silo's device, so only its key can say
/// where it lives.
/// </summary>
public sealed class EnginePlacement : PlacementStrategy
{
    public static EnginePlacement Instance { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class EnginePlacementAttribute() : PlacementAttribute(EnginePlacement.Instance);

/// <summary>Runs on the silo that places the activation (usually the caller's).</summary>
public sealed class EnginePlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString()!;
        if (!EngineKey.TryParse(key, out var silo, out _))
        {
            throw new EngineUnavailableException($"'{key}' is not an engine key (expected <silo address>/<device>).");
        }

        // Only silos that host inference grains are compatible: a key naming a front silo, or a silo that left, fails fast.
        if (!context.GetCompatibleSilos(target).Contains(silo))
        {
            throw new EngineUnavailableException($"The engine '{key}' is not in the cluster: its silo is gone or hosts no engines.");
        }

        return Task.FromResult(silo);
    }
}
