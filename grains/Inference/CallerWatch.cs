using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ChatCluster.InferenceGrains;

/// <summary>
/// Cancels the generations read by a silo that died. When the reading silo dies, Orleans cleans up the
/// producing side of a streamed call only after its response timeout (30 s), so without this an orphaned
/// sequence would keep its batch row decoding for nobody for 30-60 s. One token per caller silo, cancelled when
/// membership declares that silo dead.
/// </summary>
public sealed partial class CallerWatch : IDisposable
{
    private readonly ConcurrentDictionary<SiloAddress, CancellationTokenSource> _callers = new();
    private readonly IClusterMembershipService _membership;
    private readonly SiloAddress _self;
    private readonly ILogger<CallerWatch> _logger;
    private readonly CancellationTokenSource _stop = new();

    public CallerWatch(IClusterMembershipService membership, ILocalSiloDetails silo, ILogger<CallerWatch> logger)
    {
        (_membership, _self, _logger) = (membership, silo.SiloAddress, logger);
        _ = WatchAsync();
    }

    /// <summary>
    /// A token cancelled when <paramref name="caller"/> is declared dead (already cancelled if it is); none for
    /// this silo itself, whose readers end with it.
    /// </summary>
    public CancellationToken For(SiloAddress caller)
    {
        if (caller.Equals(_self))
        {
            return CancellationToken.None;
        }

        if (_membership.CurrentSnapshot.GetSiloStatus(caller) == SiloStatus.Dead)
        {
            return new CancellationToken(canceled: true);
        }

        return _callers.GetOrAdd(caller, static _ => new CancellationTokenSource()).Token;
    }

    private async Task WatchAsync()
    {
        try
        {
            await foreach (var snapshot in _membership.MembershipUpdates.WithCancellation(_stop.Token))
            {
                foreach (var (silo, source) in _callers)
                {
                    if (snapshot.GetSiloStatus(silo) == SiloStatus.Dead && _callers.TryRemove(silo, out _))
                    {
                        CallerDied(_logger, silo);
                        await source.CancelAsync();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed with the silo.
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} died: its generations on this silo's engines are cancelled.")]
    private static partial void CallerDied(ILogger logger, SiloAddress silo);
}
