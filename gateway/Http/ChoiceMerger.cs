using System.Threading.Channels;
using ChatCluster.Inference;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// Runs one or more generations at once and hands their events on as one sequence, each event's
/// <see cref="ChatDelta.Index"/> set to its choice. <see cref="StartAsync"/> returns once the first event
/// is ready, so that a failure before any output (queue full, prompt too long) is still a plain HTTP error.
/// Disposing cancels every generation that is still running, which frees their batch slots.
/// </summary>
internal sealed class ChoiceMerger : IAsyncDisposable
{
    // Bounded so that a client that reads slowly holds back its own generations instead of buffering them without end.
    private const int BufferedEvents = 64;

    private readonly Channel<ChatDelta> _events = Channel.CreateBounded<ChatDelta>(
        new BoundedChannelOptions(BufferedEvents) { SingleReader = true, SingleWriter = false });

    private readonly CancellationTokenSource _cancel;
    private readonly Task[] _pumps;
    private int _running;

    private ChoiceMerger(int choices, Func<int, CancellationToken, IAsyncEnumerable<ChatDelta>> generate, CancellationToken cancellationToken)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
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
            await merger._events.Reader.WaitToReadAsync(cancellationToken);
            return merger;
        }
        catch
        {
            await merger.DisposeAsync();
            throw;
        }
    }

    /// <summary>Every event of every choice, in the order they were made; throws if a generation fails.</summary>
    public IAsyncEnumerable<ChatDelta> ReadAllAsync(CancellationToken cancellationToken) =>
        _events.Reader.ReadAllAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _cancel.CancelAsync();
        try
        {
            await Task.WhenAll(_pumps);
        }
        catch
        {
            // Each pump already reported its failure through the channel; here they only need to have ended.
        }

        _cancel.Dispose();
    }

    private async Task PumpAsync(int choice, IAsyncEnumerable<ChatDelta> generation)
    {
        // Yield first so that starting n generations does not run the first one's synchronous part n times in a row.
        await Task.Yield();
        try
        {
            await foreach (var delta in generation.WithCancellation(_cancel.Token))
            {
                await _events.Writer.WriteAsync(delta with { Index = choice + delta.Index }, _cancel.Token);
            }

            if (Interlocked.Decrement(ref _running) == 0)
            {
                _events.Writer.TryComplete();
            }
        }
        catch (Exception exception)
        {
            // One failed choice ends the whole response: OpenAI has no way to report a single choice's error.
            _events.Writer.TryComplete(exception);
            await _cancel.CancelAsync();
        }
    }
}
