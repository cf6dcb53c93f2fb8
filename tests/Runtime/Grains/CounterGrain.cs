using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public sealed class CounterGrain(IPersistentState<CounterState> state, ActivationJournal journal) : Grain, ICounterGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        journal.Activated(Id);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(CancellationToken cancellationToken) => journal.DeactivatingAsync(Id);

    public Task<int> IncrementAsync() => Task.FromResult(++state.State.Count);

    public async Task<int> IncrementAndWriteAsync()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Count);
}
