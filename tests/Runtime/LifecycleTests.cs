using System.Text.Json;
using ChatCluster.Tests.Runtime.Grains;

namespace ChatCluster.Tests.Runtime;

public sealed class LifecycleTests : IAsyncLifetime
{
    private readonly RuntimeHarness _runtime = new();

    [Fact]
    public async Task An_idle_grain_deactivates_writes_back_its_state_and_reactivates_with_it()
    {
        var id = RuntimeHarness.IdOf<ICounterGrain>("idle");
        var counter = _runtime.Factory.GetGrain<ICounterGrain>("idle");
        await counter.IncrementAsync();
        await counter.IncrementAsync();
        Assert.Null(await _runtime.Storage.ReadAsync(id, CancellationToken.None));

        await _runtime.CollectIdleAsync(id);

        Assert.Equal(1, _runtime.Journal.Deactivations(id));
        Assert.Equal(0, _runtime.Catalog.ActivationCount);
        var stored = await _runtime.Storage.ReadAsync(id, CancellationToken.None);
        Assert.Equal(2, JsonDocument.Parse(stored!).RootElement.GetProperty("count").GetInt32());

        Assert.Equal(3, await counter.IncrementAsync());
        Assert.Equal(2, _runtime.Journal.Activations(id));
    }

    [Fact]
    public async Task A_grain_in_use_is_not_collected()
    {
        var id = RuntimeHarness.IdOf<ICounterGrain>("busy");
        var counter = _runtime.Factory.GetGrain<ICounterGrain>("busy");
        await counter.IncrementAsync();

        // Calls keep arriving more often than the idle timeout: the grain stays.
        for (var i = 0; i < 5; i++)
        {
            _runtime.Time.Advance(RuntimeHarness.IdleTimeout / 2);
            await counter.IncrementAsync();
        }

        Assert.Equal(1, _runtime.Journal.Activations(id));
        Assert.Equal(0, _runtime.Journal.Deactivations(id));
        Assert.Equal(6, await counter.GetAsync());
    }

    [Fact]
    public async Task A_call_racing_deactivation_goes_to_a_new_activation_with_the_written_state()
    {
        var id = RuntimeHarness.IdOf<ICounterGrain>("raced");
        var counter = _runtime.Factory.GetGrain<ICounterGrain>("raced");
        await counter.IncrementAsync();
        var activation = _runtime.Catalog.FindActivation(id)!;
        _runtime.Journal.DeactivationGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        _runtime.Time.Advance(RuntimeHarness.IdleTimeout + RuntimeHarness.CollectionQuantum);
        await _runtime.Journal.DeactivationStarted(id).WaitAsync(TimeSpan.FromSeconds(30));
        var racing = counter.IncrementAsync();
        Assert.False(racing.IsCompleted);
        _runtime.Journal.DeactivationGate.SetResult();

        Assert.Equal(2, await racing);
        await activation.Deactivated;
        Assert.Equal(2, _runtime.Journal.Activations(id));
        Assert.NotSame(activation, _runtime.Catalog.FindActivation(id));
    }

    [Fact]
    public async Task Stopping_the_runtime_deactivates_every_grain_and_refuses_new_calls()
    {
        var first = _runtime.Factory.GetGrain<ICounterGrain>("first");
        var second = _runtime.Factory.GetGrain<ICounterGrain>("second");
        await first.IncrementAsync();
        await second.IncrementAndWriteAsync();
        await second.IncrementAsync();

        await _runtime.Catalog.StopAsync(CancellationToken.None);

        Assert.Equal(0, _runtime.Catalog.ActivationCount);
        Assert.Equal(1, _runtime.Journal.Deactivations(RuntimeHarness.IdOf<ICounterGrain>("first")));
        Assert.Equal(1, _runtime.Journal.Deactivations(RuntimeHarness.IdOf<ICounterGrain>("second")));
        var stored = await _runtime.Storage.ReadAsync(RuntimeHarness.IdOf<ICounterGrain>("second"), CancellationToken.None);
        Assert.Equal(2, JsonDocument.Parse(stored!).RootElement.GetProperty("count").GetInt32());
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => first.GetAsync());
        Assert.Contains("stopping", refused.Message);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _runtime.DisposeAsync().AsTask();
}
