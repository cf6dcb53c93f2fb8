using ChatCluster.Grains;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// Grain calls that raced a silo's death. Between a silo's crash and the cluster declaring it dead (about
/// 1-3 s with the silo's membership settings), calls routed to it fail fast; once it is declared dead, the
/// same call activates the grain on a survivor from its stored state. So a call that failed for a reason of
/// the cluster (<see cref="ClusterFaults.IsUnavailable"/>, not Redis being down) is tried again, with growing pauses, until
/// <see cref="Budget"/> runs out; then the caller gets the failure, which the API answers with 503 and
/// Retry-After. A streamed call is tried again only until its first event: after that the caller has seen
/// part of a reply, and a failure ends the stream with an error event.
/// </summary>
internal static class ClusterRetry
{
    /// <summary>How long a request keeps trying: longer than failure detection, well short of a client's patience.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(1);

    public static Task RunAsync(Func<Task> call, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await call();
            return true;
        }, cancellationToken);

    public static async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Budget;
        for (var pause = FirstPause; ; pause = Next(pause))
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (Retryable(e) && DateTime.UtcNow + pause < deadline)
            {
                await Task.Delay(pause, cancellationToken);
            }
        }
    }

    public static IAsyncEnumerable<T> StreamAsync<T>(Func<CancellationToken, IAsyncEnumerable<T>> start, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Budget;
        var pause = FirstPause;
        return RetryBeforeFirstEvent.StreamAsync(start, async e =>
        {
            if (!Retryable(e) || DateTime.UtcNow + pause >= deadline)
            {
                return false;
            }

            await Task.Delay(pause, cancellationToken);
            pause = Next(pause);
            return true;
        }, cancellationToken);
    }

    /// <summary>A failure of the cluster that the same call soon after gets past; Redis being down is not one.</summary>
    private static bool Retryable(Exception e) => ClusterFaults.IsUnavailable(e) && !ClusterFaults.IsStorageUnavailable(e);

    private static TimeSpan Next(TimeSpan pause) => pause * 2 < LongestPause ? pause * 2 : LongestPause;
}
