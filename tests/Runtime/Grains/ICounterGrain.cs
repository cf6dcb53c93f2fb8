using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public interface ICounterGrain : IGrain
{
    /// <summary>Adds one in memory only (the runtime writes it back at deactivation).</summary>
    Task<int> IncrementAsync();

    /// <summary>Adds one and writes the state.</summary>
    Task<int> IncrementAndWriteAsync();

    Task<int> GetAsync();
}
