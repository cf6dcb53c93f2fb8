using ChatCluster.Grains.Inference;
using Orleans.Storage;

namespace ChatCluster.Grains;

/// <summary>Failures of the cluster rather than of a request, as grain callers tell them apart.</summary>
public static class ClusterFaults
{
    /// <summary>
    /// A failure that the same call soon after gets past: a silo that died or was unreachable (until it is
    /// declared dead and its grains move), a call that timed out, a streamed reply whose silo went away, a stale
    /// activation's write refused by its ETag (it deactivates; the next call reads the stored truth).
    /// </summary>
    public static bool IsUnavailable(Exception exception) => AnyInChain(exception, static e =>
        e is OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException or TimeoutException
            or InconsistentStateException or EnumerationAbortedException);

    /// <summary>
    /// An engine that cannot serve, found out before it produced anything: draining, its silo dead or leaving
    /// (Orleans then fails placement with an <see cref="OrleansException"/>, or, once no silo hosts the grain
    /// type, with "Could not find an implementation"), or unreachable.
    /// </summary>
    public static bool IsEngineGone(Exception exception) => AnyInChain(exception, static e =>
        e is EngineUnavailableException or OrleansException
        || e is ArgumentException && e.Message.Contains("Could not find an implementation", StringComparison.Ordinal))
        || IsUnavailable(exception);

    private static bool AnyInChain(Exception exception, Func<Exception, bool> test)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (test(e))
            {
                return true;
            }
        }

        return false;
    }
}
