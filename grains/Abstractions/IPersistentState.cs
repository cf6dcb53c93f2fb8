namespace ChatCluster.Grains;

/// <summary>
/// A grain's durable state, injected by the runtime (as Orleans' IPersistentState). The storage provider
/// (in memory, or Redis with --redis) decides where it lives; a completed <see cref="WriteStateAsync"/> is
/// acknowledged, and survives a crash of the silo.
/// </summary>
public interface IPersistentState<TState> where TState : class, new()
{
    TState State { get; set; }

    /// <summary>Whether a stored record existed when the state was last read or written.</summary>
    bool RecordExists { get; }

    Task ReadStateAsync(CancellationToken cancellationToken = default);

    Task WriteStateAsync(CancellationToken cancellationToken = default);

    Task ClearStateAsync(CancellationToken cancellationToken = default);
}
