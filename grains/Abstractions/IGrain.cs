namespace ChatCluster.Grains;

/// <summary>
/// Marker for grain interfaces. A grain is addressed by its interface type and a string key; callers hold a
/// reference obtained from <see cref="IGrainFactory"/>, never an instance.
/// Grain interface methods return <see cref="Task"/>, <see cref="Task{T}"/>, <see cref="ValueTask"/>,
/// <see cref="ValueTask{T}"/> or <see cref="IAsyncEnumerable{T}"/> (a streamed call: the turn lasts until the
/// stream ends or the caller stops reading).
/// </summary>
public interface IGrain;
