namespace ChatCluster.Silo.Runtime;

internal sealed partial class GrainActivation
{
    private readonly TaskCompletionSource _deactivated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the activation is deactivated and out of the table.</summary>
    public Task Deactivated => _deactivated.Task;

    /// <summary>Starts deactivating if no call has run or waited for <paramref name="idleTimeout"/>.</summary>
    public void TryBeginIdleDeactivation(TimeSpan idleTimeout)
    {
        lock (_lock)
        {
            if (_status != ActivationStatus.Active || _running != 0 || _pending.Count != 0
                || _time.GetElapsedTime(_idleSinceTimestamp) < idleTimeout)
            {
                return;
            }

            _status = ActivationStatus.Deactivating;
            _deactivationReason = DeactivationReason.Idle;
        }

        _wake.Release();
    }

    /// <summary>Stops accepting calls; the ones already queued still run before the grain deactivates.</summary>
    public void BeginShutdown()
    {
        bool neverStarted;
        lock (_lock)
        {
            if (_status >= ActivationStatus.Deactivating)
            {
                return;
            }

            neverStarted = _status == ActivationStatus.Created;
            _status = neverStarted ? ActivationStatus.Deactivated : ActivationStatus.Deactivating;
            _deactivationReason = DeactivationReason.Shutdown;
        }

        if (neverStarted)
        {
            Leave();
        }
        else
        {
            _wake.Release();
        }
    }

    /// <summary>Runs on the pump once drained: OnDeactivateAsync, then the state write-back, then out of the table.</summary>
    private async Task DeactivateAsync()
    {
        try
        {
            await _grain!.OnDeactivateAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            LogDeactivateFailed(_logger, Id, exception);
        }

        if (_state is not null)
        {
            try
            {
                await _state.WriteBackAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                LogWriteBackFailed(_logger, Id, exception);
            }
        }

        lock (_lock)
        {
            _status = ActivationStatus.Deactivated;
        }

        LogDeactivated(_logger, Id, _deactivationReason);
        Leave();
    }
}
