namespace ChatCluster.Silo.Runtime;

/// <summary>What the activation does with a grain's persistent state besides what the grain does with it.</summary>
internal interface IGrainStateBinding
{
    Task ReadStateAsync(CancellationToken cancellationToken);

    /// <summary>At deactivation: writes the state if it changed since it was last read or written.</summary>
    Task WriteBackAsync(CancellationToken cancellationToken);
}
