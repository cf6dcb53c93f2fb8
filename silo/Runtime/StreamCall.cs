using System.Reflection;
using System.Threading.Channels;
using ChatCluster.Grains;

namespace ChatCluster.Silo.Runtime;

/// <summary>
/// One enumeration of a streamed grain call: the caller's enumerator and the message in the grain's mailbox.
/// The grain's own enumerator runs inside the turn and hands items over through a one-item channel (so it is
/// at most one item ahead of the caller). The turn ends when the grain's stream ends, the caller disposes
/// (which cancels the grain's enumeration and waits for it to unwind), or a cancellation token fires: the
/// method's <see cref="CancellationToken"/> argument and the enumerator's token are linked into one token that
/// the grain sees in both places.
/// </summary>
internal sealed class StreamCall<T> : GrainMessage, IAsyncEnumerator<T>
{
    private const int NotSent = 0;
    private const int Queued = 1;
    private const int Running = 2;
    private const int Abandoned = 3;

    private readonly GrainReference _target;
    private readonly MethodInfo _method;
    private readonly object?[] _arguments;
    private readonly CancellationTokenSource _cancellation;
    private readonly Channel<T> _items = Channel.CreateBounded<T>(
        new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly TaskCompletionSource _turnEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _error;
    private int _state;
    private bool _disposed;

    /// <param name="arguments">This enumeration's own copy: its cancellation token argument is replaced.</param>
    public StreamCall(GrainReference target, GrainMethod method, object?[] arguments, CancellationToken enumeratorToken)
        : base(method.Method)
    {
        _target = target;
        _method = method.Method;
        _arguments = arguments;
        var index = method.CancellationTokenIndex;
        var argumentToken = index >= 0 && arguments[index] is CancellationToken token ? token : default;
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(argumentToken, enumeratorToken);
        if (index >= 0)
        {
            arguments[index] = _cancellation.Token;
        }
    }

    public T Current { get; private set; } = default!;

    public async ValueTask<bool> MoveNextAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // The call is sent when the caller starts reading, as a local async iterator starts running then.
        if (Interlocked.CompareExchange(ref _state, Queued, NotSent) == NotSent)
        {
            _target.Send(this);
        }

        var reader = _items.Reader;
        T? item;
        while (!reader.TryRead(out item))
        {
            // Completes false when the turn ended, throws the grain's exception as it was thrown, or the
            // cancellation while the call still waits for its turn.
            if (!await reader.WaitToReadAsync(_cancellation.Token).ConfigureAwait(false))
            {
                return false;
            }
        }

        Current = item;
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var state = Interlocked.CompareExchange(ref _state, Abandoned, NotSent);
        if (state != NotSent)
        {
            // Queued: the pump will skip it. Running: the grain's enumeration is cancelled; wait for it to unwind
            // (its finally blocks run), as disposing a local async iterator would.
            state = Interlocked.CompareExchange(ref _state, Abandoned, Queued);
            await _cancellation.CancelAsync().ConfigureAwait(false);
            if (state == Running)
            {
                await _turnEnded.Task.ConfigureAwait(false);
            }
        }

        _cancellation.Dispose();
    }

    public override Task StartTurn(Grain grain) =>
        Interlocked.CompareExchange(ref _state, Running, Queued) == Queued ? RunAsync(grain) : Task.CompletedTask;

    public override void EndTurn()
    {
        _items.Writer.TryComplete(_error);
        _turnEnded.TrySetResult();
    }

    public override void Fail(Exception exception)
    {
        _error = exception;
        EndTurn();
    }

    private async Task RunAsync(Grain grain)
    {
        try
        {
            var source = (IAsyncEnumerable<T>?)_method.Invoke(grain, BindingFlags.DoNotWrapExceptions, null, _arguments, null)
                ?? throw new InvalidOperationException($"{_method.DeclaringType?.Name}.{_method.Name} returned null instead of a stream.");
            var token = _cancellation.Token;
            await using var enumerator = source.GetAsyncEnumerator(token);
            while (await enumerator.MoveNextAsync())
            {
                await _items.Writer.WriteAsync(enumerator.Current, token);
            }
        }
        catch (Exception exception)
        {
            _error = exception;
        }
    }
}
