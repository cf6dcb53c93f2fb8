using System.Diagnostics;
namespace ChatCluster.Silo.Runtime;

internal sealed partial class GrainActivation
{
    // Released once per queued call and once per finished turn; the pump re-checks its conditions on each wake,
    // so surplus releases only cost a loop iteration.
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>
    /// Queues the call; false when this activation is deactivating or gone (the caller then waits for
    /// <see cref="Deactivated"/> and sends it to a new activation, so no call is lost to a deactivation).
    /// </summary>
    public bool TryEnqueue(GrainMessage message)
    {
        bool start;
        lock (_lock)
        {
            if (_status >= ActivationStatus.Deactivating)
            {
                return false;
            }

            _pending.Enqueue(message);
            start = _status == ActivationStatus.Created;
            if (start)
            {
                _status = ActivationStatus.Activating;
            }
        }

        if (start)
        {
            _ = Task.Run(RunAsync);
        }
        else
        {
            _wake.Release();
        }

        return true;
    }

    private async Task RunAsync()
    {
        if (!await ActivateAsync().ConfigureAwait(false))
        {
            return;
        }

        while (true)
        {
            GrainMessage? next = null;
            bool drained;
            lock (_lock)
            {
                if (_pending.Count > 0 && (_running == 0 || _type.IsReentrant))
                {
                    next = _pending.Dequeue();
                    _running++;
                }

                drained = _status == ActivationStatus.Deactivating && _running == 0 && _pending.Count == 0;
            }

            if (next is not null)
            {
                // Not awaited: the pump goes on (a reentrant grain starts the next call) and is woken when it ends.
                _ = RunTurnAsync(next);
            }
            else if (drained)
            {
                break;
            }
            else
            {
                await _wake.WaitAsync().ConfigureAwait(false);
            }
        }

        await DeactivateAsync().ConfigureAwait(false);
    }

    private async Task RunTurnAsync(GrainMessage message)
    {
        // One span per turn, a child of the caller's: the request's trace goes on through the grain (and any
        // grain it calls) to the inference batch. Without a listener StartActivity returns null.
        using (var activity = GrainTelemetry.Source.StartActivity(GrainTelemetry.TurnName(message.Method), ActivityKind.Internal, message.CallerContext))
        {
            activity?.SetTag("chatcluster.grain.id", Id.ToString());

            // The grain's exception belongs to the caller (EndTurn hands it over); here only the turn's end counts.
            await message.StartTurn(_grain!).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        lock (_lock)
        {
            if (--_running == 0)
            {
                _idleSinceTimestamp = _time.GetTimestamp();
            }
        }

        message.EndTurn();
        _wake.Release();
    }
}
