using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ChatCluster.Inference;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// Runs one or more generations at once and hands their events on as one sequence, each event's
/// <see cref="ChatDelta.Index"/> set to its choice. <see cref="StartAsync"/> returns once the first event
/// is ready, so that a failure before any output (queue full, prompt too long) is still a plain HTTP error.
/// Disposing cancels every generation that is still running, which frees their batch slots.
/// </summary>
/// <remarks>
/// One choice (nearly every request) is read straight from its generation: no pump task and no channel
/// between the engine and the response, so a token costs one thread-pool hop (the engine's channel to the
/// writer) instead of two. Several choices are pumped into one bounded channel.
/// </remarks>
internal sealed class ChoiceMerger : IAsyncDisposable
{
    // Bounded so that a client that reads slowly holds back its own generations instead of buffering them without end.
    private const int BufferedEvents = 64;

    private readonly CancellationTokenSource _cancel;

    // One choice: its generation, read in place; the first event is read by StartAsync.
    private readonly IAsyncEnumerator<ChatDelta>? _single;
    private bool _hasFirst;
    private Task<bool>? _pendingMove; // a MoveNextAsync the reader stopped waiting for (its flush failed), awaited on dispose

    // Several choices: one pump per choice into the channel.
    private readonly Channel<ChatDelta>? _events;
    private readonly Task[] _pumps = [];
    private int _running;

    private ChoiceMerger(int choices, Func<int, CancellationToken, IAsyncEnumerable<ChatDelta>> generate, CancellationToken cancellationToken)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (choices == 1)
        {
            _single = generate(0, _cancel.Token).GetAsyncEnumerator(_cancel.Token);
            return;
        }

        _events = Channel.CreateBounded<ChatDelta>(new BoundedChannelOptions(BufferedEvents) { SingleReader = true, SingleWriter = false });
        _running = choices;
        _pumps = new Task[choices];
        for (var choice = 0; choice < choices; choice++)
        {
            _pumps[choice] = PumpAsync(choice, generate(choice, _cancel.Token));
        }
    }

    /// <summary>Starts <paramref name="choices"/> generations; throws what the first failing one threw if none produced an event.</summary>
    public static async Task<ChoiceMerger> StartAsync(
        int choices, Func<int, CancellationToken, IAsyncEnumerable<ChatDelta>> generate, CancellationToken cancellationToken)
    {
        var merger = new ChoiceMerger(choices, generate, cancellationToken);
        try
        {
            if (merger._single is { } single)
            {
                merger._hasFirst = await single.MoveNextAsync();
            }
            else
            {
                await merger._events!.Reader.WaitToReadAsync(cancellationToken);
            }

            return merger;
        }
        catch
        {
            await merger.DisposeAsync();
            throw;
        }
    }

    /// <summary>Every event of every choice, in the order they were made; throws if a generation fails.</summary>
    public IAsyncEnumerable<ChatDelta> ReadAllAsync(CancellationToken cancellationToken) => ReadAllAsync(null, cancellationToken);

    /// <summary>
    /// Every event, as above; <paramref name="idle"/> runs each time the next event is not ready yet. The SSE
    /// writers flush there: tokens that are already made (the reader woke after several steps, or a batch of a
    /// remote grain's stream arrived) go out in one write, and a token is never held back waiting for the next.
    /// </summary>
    public async IAsyncEnumerable<ChatDelta> ReadAllAsync(
        Func<CancellationToken, ValueTask>? idle, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_single is { } single)
        {
            for (var more = _hasFirst; more;)
            {
                yield return single.Current;
                var next = single.MoveNextAsync();
                if (next.IsCompleted || idle is null)
                {
                    more = await next;
                    continue;
                }

                _pendingMove = next.AsTask();
                await idle(cancellationToken);
                more = await _pendingMove;
                _pendingMove = null;
            }

            yield break;
        }

        var reader = _events!.Reader;
        while (true)
        {
            if (reader.TryRead(out var delta))
            {
                yield return delta;
                continue;
            }

            if (idle is not null)
            {
                await idle(cancellationToken);
            }

            if (!await reader.WaitToReadAsync(cancellationToken))
            {
                yield break; // completed; a failed generation's exception is thrown by WaitToReadAsync instead
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cancel.CancelAsync();

        // A failure already reached the reader (or nobody reads any more): here the generations only need to have
        // ended. An async iterator may not be disposed while a MoveNextAsync runs, so a pending one ends first.
        if (_pendingMove is { } pending)
        {
            await QuietlyAsync(() => pending);
        }

        if (_single is { } single)
        {
            await QuietlyAsync(() => single.DisposeAsync().AsTask());
        }

        await QuietlyAsync(() => Task.WhenAll(_pumps));
        _cancel.Dispose();
    }

    private static async Task QuietlyAsync(Func<Task> ending)
    {
        try
        {
            await ending();
        }
        catch
        {
            // See DisposeAsync: only the ending matters here.
        }
    }

    private async Task PumpAsync(int choice, IAsyncEnumerable<ChatDelta> generation)
    {
        // Yield first so that starting n generations does not run the first one's synchronous part n times in a row.
        await Task.Yield();
        try
        {
            await foreach (var delta in generation.WithCancellation(_cancel.Token))
            {
                await _events!.Writer.WriteAsync(delta with { Index = choice + delta.Index }, _cancel.Token);
            }

            if (Interlocked.Decrement(ref _running) == 0)
            {
                _events!.Writer.TryComplete();
            }
        }
        catch (Exception exception)
        {
            // One failed choice ends the whole response: OpenAI has no way to report a single choice's error.
            _events!.Writer.TryComplete(exception);
            await _cancel.CancelAsync();
        }
    }
}
