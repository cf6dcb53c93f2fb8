using ChatCluster.Grains;
using ChatCluster.Silo.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace ChatCluster.Tests.Runtime;

public sealed class RegistrationTests
{
    [Fact]
    public void A_grain_method_that_does_not_return_a_task_or_stream_is_refused_at_registration()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddGrain<ISynchronousGrain, SynchronousGrain>());

        Assert.Contains($"{nameof(ISynchronousGrain)}.{nameof(ISynchronousGrain.Add)}", error.Message);
    }

    [Fact]
    public void A_grain_with_two_persistent_states_is_refused_at_registration()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddGrain<ITwoStateGrain, TwoStateGrain>());

        Assert.Contains("persistent states", error.Message);
    }

    public interface ISynchronousGrain : IGrain
    {
        int Add(int a, int b);
    }

    public interface ITwoStateGrain : IGrain
    {
        Task PingAsync();
    }

    public sealed class SynchronousGrain : Grain, ISynchronousGrain
    {
        public int Add(int a, int b) => a + b;
    }

    public sealed class TwoStateGrain(IPersistentState<StateA> first, IPersistentState<StateB> second) : Grain, ITwoStateGrain
    {
        public Task PingAsync() => Task.WhenAll(first.ReadStateAsync(), second.ReadStateAsync());
    }

    public sealed class StateA;

    public sealed class StateB;
}
