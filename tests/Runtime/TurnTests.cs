using ChatCluster.Grains;
using ChatCluster.Tests.Runtime.Grains;

namespace ChatCluster.Tests.Runtime;

public sealed class TurnTests : IAsyncLifetime
{
    private readonly RuntimeHarness _runtime = new();

    [Fact]
    public async Task Hundred_concurrent_calls_to_one_grain_run_one_at_a_time_in_arrival_order()
    {
        var grain = _runtime.Factory.GetGrain<ITurnRecorderGrain>("ordered");

        // Issued from one thread without awaiting: the arrival order is the loop's order.
        var calls = Enumerable.Range(0, 100).Select(grain.RecordAsync).ToArray();
        await Task.WhenAll(calls);

        var report = await grain.GetReportAsync();
        Assert.Equal(1, report.MaxConcurrency);
        Assert.Equal(Enumerable.Range(0, 100), report.Order);
    }

    [Fact]
    public async Task Calls_from_many_threads_to_one_grain_never_overlap()
    {
        var grain = _runtime.Factory.GetGrain<ITurnRecorderGrain>("threads");

        await Parallel.ForAsync(0, 100, async (index, _) => await grain.RecordAsync(index));

        var report = await grain.GetReportAsync();
        Assert.Equal(1, report.MaxConcurrency);
        Assert.Equal(Enumerable.Range(0, 100), report.Order.Order());
    }

    [Fact]
    public async Task Calls_to_different_grains_run_in_parallel()
    {
        // Each call completes only when the other has arrived: both must be in their turns at once.
        var first = _runtime.Factory.GetGrain<IMeetingGrain>("a").MeetAsync("different-grains", 2);
        var second = _runtime.Factory.GetGrain<IMeetingGrain>("b").MeetAsync("different-grains", 2);

        await Task.WhenAll(first, second);
    }

    [Fact]
    public async Task Calls_to_a_reentrant_grain_interleave()
    {
        var grain = _runtime.Factory.GetGrain<IReentrantMeetingGrain>("reentrant");

        await Task.WhenAll(grain.MeetAsync("same-grain", 2), grain.MeetAsync("same-grain", 2));
    }

    [Fact]
    public async Task Racing_first_calls_create_one_activation()
    {
        var id = RuntimeHarness.IdOf<IFaultGrain>("raced");
        using var start = new Barrier(16);
        var calls = new Task<string>[16];

        // Dedicated threads released together (pool threads blocked on a barrier would starve the pool).
        var threads = Enumerable.Range(0, 16).Select(index => new Thread(() =>
        {
            start.SignalAndWait();
            calls[index] = _runtime.Factory.GetGrain<IFaultGrain>("raced").EchoAsync(index.ToString());
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        var replies = await Task.WhenAll(calls);

        Assert.Equal(Enumerable.Range(0, 16), replies.Select(int.Parse).Order());
        Assert.Equal(1, _runtime.Journal.Activations(id));
        Assert.Equal(1, _runtime.Catalog.ActivationCount);
    }

    [Fact]
    public async Task A_grain_calls_another_grain_during_its_turn()
    {
        var relay = _runtime.Factory.GetGrain<IRelayGrain>("relay");

        Assert.Equal(1, await relay.IncrementCounterAsync("relayed"));
        Assert.Equal(2, await relay.IncrementCounterAsync("relayed"));
        Assert.Equal(2, await _runtime.Factory.GetGrain<ICounterGrain>("relayed").GetAsync());
    }

    [Fact]
    public async Task Exceptions_reach_the_caller_unchanged()
    {
        var grain = _runtime.Factory.GetGrain<IFaultGrain>("faults");
        var fromAsync = new InvalidOperationException("thrown inside the async method");
        var beforeReturning = new ArgumentException("thrown before a task was returned");
        var fromValueTask = new NotSupportedException("thrown from a ValueTask method");
        var cancelled = new OperationCanceledException("cancelled inside the grain");

        Assert.Same(fromAsync, await Assert.ThrowsAsync<InvalidOperationException>(() => grain.ThrowAsync(fromAsync)));
        Assert.Same(beforeReturning, await Assert.ThrowsAsync<ArgumentException>(() => grain.ThrowBeforeReturningAsync(beforeReturning)));
        Assert.Same(fromValueTask, await Assert.ThrowsAsync<NotSupportedException>(() => grain.ThrowValueTaskAsync(fromValueTask).AsTask()));
        var cancelledCall = grain.ThrowAsync(cancelled);
        Assert.Same(cancelled, await Assert.ThrowsAsync<OperationCanceledException>(() => cancelledCall));
        Assert.True(cancelledCall.IsCanceled);

        // The grain goes on serving after its calls failed.
        Assert.Equal("still here", await grain.EchoAsync("still here"));
    }

    [Fact]
    public async Task Failed_activation_fails_its_calls_and_the_next_call_activates_afresh()
    {
        var id = RuntimeHarness.IdOf<IFaultGrain>("flaky-1");
        var grain = _runtime.Factory.GetGrain<IFaultGrain>("flaky-1");

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => grain.EchoAsync("first"));
        Assert.Equal($"first activation of {id} fails", failure.Message);

        Assert.Equal("second", await grain.EchoAsync("second"));
        Assert.Equal(2, _runtime.Journal.Activations(id));
    }

    [Fact]
    public void An_unregistered_grain_interface_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => _runtime.Factory.GetGrain<IUnregisteredGrain>("x"));
        Assert.Contains(nameof(IUnregisteredGrain), error.Message);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _runtime.DisposeAsync().AsTask();

    public interface IUnregisteredGrain : IGrain
    {
        Task PingAsync();
    }
}
