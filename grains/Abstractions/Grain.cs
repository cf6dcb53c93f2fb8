namespace ChatCluster.Grains;

/// <summary>
/// Base class of grain implementations. The runtime creates the instance, sets <see cref="Id"/> and
/// <see cref="GrainFactory"/>, calls <see cref="OnActivateAsync"/> before the first call and
/// <see cref="OnDeactivateAsync"/> when the grain has been idle long enough. Calls run one at a time, in
/// arrival order, unless the class is marked <see cref="ReentrantAttribute"/>.
/// </summary>
public abstract class Grain
{
    public GrainId Id { get; internal set; }

    public IGrainFactory GrainFactory { get; internal set; } = null!;

    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual Task OnDeactivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
