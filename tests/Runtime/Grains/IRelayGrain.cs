using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public interface IRelayGrain : IGrain
{
    /// <summary>Calls the counter grain <paramref name="counterKey"/> from inside this grain's turn.</summary>
    Task<int> IncrementCounterAsync(string counterKey);

    /// <summary>Streams a streaming grain's count through this grain's own stream.</summary>
    IAsyncEnumerable<int> RelayCountAsync(string streamingKey, int count);
}
