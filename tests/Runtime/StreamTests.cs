using ChatCluster.Tests.Runtime.Grains;

namespace ChatCluster.Tests.Runtime;

public sealed class StreamTests : IAsyncLifetime
{
    private readonly RuntimeHarness _runtime = new();

    [Fact]
    public async Task A_streamed_call_holds_the_turn_until_the_stream_ends()
    {
        var grain = _runtime.Factory.GetGrain<IStreamingGrain>("held");
        var items = new List<int>();
        Task? mark = null;

        await foreach (var item in grain.CountAsync(5))
        {
            items.Add(item);
            if (item == 0)
            {
                mark = grain.MarkAsync("other call");
                // Give a wrongly interleaved call ample chance to run; its completion is the failure.
                Assert.NotSame(mark, await Task.WhenAny(mark, Task.Delay(200)));
            }
        }

        await mark!;
        Assert.Equal([0, 1, 2, 3, 4], items);
        Assert.Equal(["start", "end", "other call"], await grain.GetLogAsync());
    }

    [Fact]
    public async Task Disposing_the_stream_cancels_the_grain_enumeration_and_ends_the_turn()
    {
        var grain = _runtime.Factory.GetGrain<IStreamingGrain>("disposed");
        var read = 0;

        await foreach (var item in grain.EndlessAsync())
        {
            if (++read == 3)
            {
                break;
            }
        }

        // Disposal waited for the grain's enumeration to unwind, as disposing a local iterator runs its finally blocks.
        Assert.Equal(["start", "cancelled"], _runtime.Events.Of(RuntimeHarness.IdOf<IStreamingGrain>("disposed")));
        await grain.MarkAsync("next call");
        Assert.Equal(["start", "cancelled", "next call"], await grain.GetLogAsync());
    }

    [Fact]
    public async Task Cancelling_the_method_token_ends_the_streamed_turn()
    {
        var grain = _runtime.Factory.GetGrain<IStreamingGrain>("method-token");
        using var cancellation = new CancellationTokenSource();
        var read = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in grain.CountAsync(int.MaxValue, cancellation.Token))
            {
                if (++read == 2)
                {
                    await cancellation.CancelAsync();
                }
            }
        });

        await grain.MarkAsync("next call");
        Assert.Equal(["start", "cancelled", "next call"], await grain.GetLogAsync());
    }

    [Fact]
    public async Task The_WithCancellation_token_reaches_the_grain_enumeration()
    {
        var grain = _runtime.Factory.GetGrain<IStreamingGrain>("enumerator-token");
        using var cancellation = new CancellationTokenSource();
        var read = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var item in grain.EndlessAsync().WithCancellation(cancellation.Token))
            {
                if (++read == 2)
                {
                    await cancellation.CancelAsync();
                }
            }
        });

        await grain.MarkAsync("next call");
        Assert.Equal(["start", "cancelled", "next call"], await grain.GetLogAsync());
    }

    [Fact]
    public async Task A_stream_exception_reaches_the_caller_unchanged_after_the_items_before_it()
    {
        var grain = _runtime.Factory.GetGrain<IStreamingGrain>("failing");
        var thrown = new InvalidDataException("the stream broke");
        var items = new List<int>();

        var caught = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var item in grain.FailAfterAsync(3, thrown))
            {
                items.Add(item);
            }
        });

        Assert.Same(thrown, caught);
        Assert.Equal([0, 1, 2], items);
    }

    [Fact]
    public async Task A_grain_streams_another_grains_stream_inside_its_own_turn()
    {
        var relay = _runtime.Factory.GetGrain<IRelayGrain>("relay");
        var items = new List<int>();

        await foreach (var item in relay.RelayCountAsync("relayed-stream", 4))
        {
            items.Add(item);
        }

        Assert.Equal([0, 1, 2, 3], items);
        Assert.Equal(["start", "end"], await _runtime.Factory.GetGrain<IStreamingGrain>("relayed-stream").GetLogAsync());
    }

    [Fact]
    public async Task A_stream_that_is_never_enumerated_sends_no_call()
    {
        var grain = _runtime.Factory.GetGrain<IStreamingGrain>("lazy");

        await using (grain.CountAsync(3).GetAsyncEnumerator())
        {
        }

        Assert.Empty(await grain.GetLogAsync());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _runtime.DisposeAsync().AsTask();
}
