using System.Diagnostics;
using ChatCluster.Grains;
using Microsoft.Extensions.DependencyInjection;

namespace ChatCluster.Silo.Runtime;

internal sealed partial class GrainActivation
{
    /// <summary>
    /// Reads the state, constructs the grain and runs OnActivateAsync. On failure every queued call fails with
    /// the exception and the activation leaves the table, so the next call tries afresh.
    /// </summary>
    private async Task<bool> ActivateAsync()
    {
        try
        {
            var state = _type.StateType is null ? null : _catalog.CreateStateBinding(_type.StateType, Id);
            if (state is not null)
            {
                await state.ReadStateAsync(_catalog.Stopping).ConfigureAwait(false);
            }

            var grain = (Grain)ActivatorUtilities.CreateInstance(_catalog.Services, _type.Implementation, state is null ? [] : [state]);
            grain.Id = Id;
            grain.GrainFactory = _catalog.GrainFactory;
            await grain.OnActivateAsync(_catalog.Stopping).ConfigureAwait(false);
            _grain = grain;
            _state = state;
        }
        catch (Exception exception)
        {
            LogActivationFailed(_logger, Id, exception);
            List<GrainMessage> failed;
            lock (_lock)
            {
                _status = ActivationStatus.Deactivated;
                failed = [.. _pending];
                _pending.Clear();
            }

            foreach (var message in failed)
            {
                message.Fail(exception);
            }

            Leave();
            return false;
        }

        lock (_lock)
        {
            // Shutdown may have begun meanwhile (status Deactivating): the queued calls still run, then it deactivates.
            if (_status == ActivationStatus.Activating)
            {
                _status = ActivationStatus.Active;
            }

            _idleSinceTimestamp = _time.GetTimestamp();
        }

        LogActivated(_logger, Id, _type.Implementation.Name);
        return true;
    }

    /// <summary>Removes this activation from the table, then releases the calls that wait to go to its successor.</summary>
    private void Leave()
    {
        Debug.Assert(_status == ActivationStatus.Deactivated, "only a deactivated activation leaves the table");
        _catalog.Remove(this);
        _deactivated.TrySetResult();
    }
}
