using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public sealed class RelayGrain : Grain, IRelayGrain
{
    public Task<int> IncrementCounterAsync(string counterKey) =>
        GrainFactory.GetGrain<ICounterGrain>(counterKey).IncrementAndWriteAsync();

    public IAsyncEnumerable<int> RelayCountAsync(string streamingKey, int count) =>
        GrainFactory.GetGrain<IStreamingGrain>(streamingKey).CountAsync(count);
}
