namespace ChatCluster.Silo.Runtime;

/// <summary>How the grain runtime collects idle activations.</summary>
public sealed class GrainRuntimeOptions
{
    /// <summary>
    /// An activation with no call running or queued for this long is deactivated (its state written back);
    /// the next call activates it again. Orleans' default collection age is the same 15 minutes.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How often idle activations are looked for. An idle grain is deactivated between
    /// <see cref="IdleTimeout"/> and <see cref="IdleTimeout"/> + this after its last call; one sweep over the
    /// activation table per quantum is cheaper than a timer per activation.
    /// </summary>
    public TimeSpan CollectionQuantum { get; set; } = TimeSpan.FromMinutes(1);
}
