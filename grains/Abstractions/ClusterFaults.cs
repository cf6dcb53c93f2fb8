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

    /// <summary>
    /// Redis, where conversations live, did not answer. Not retried inside the server: the Redis client already
    /// waited its timeout, and an outage outlasts a retry; the caller is told to come back (503, Retry-After).
    /// </summary>
    public static bool IsStorageUnavailable(Exception exception) => AnyInChain(exception, static e =>
        e is StorageUnavailableException
        // A conversation whose state could not be read when it activated: Orleans' Redis provider's exception,
        // or the Redis client's, matched by namespace (callers reference neither; they cross silos by name).
        || e.GetType().Namespace is "StackExchange.Redis" or "Orleans.Persistence.Redis");

    /// <summary>Failures arrive wrapped (Orleans' storage exception around the provider's around Redis's): look down the chain.</summary>
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
