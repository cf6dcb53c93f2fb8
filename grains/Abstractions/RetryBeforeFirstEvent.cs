using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace ChatCluster.Grains;

/// <summary>
/// A streamed call tried again only until its first event: before it, a failure can be retried without the
/// caller seeing anything twice; after it, the caller has seen part of a reply, and a failure ends the stream.
/// </summary>
public static class RetryBeforeFirstEvent
{
    /// <summary>
    /// Streams <paramref name="start"/>'s events; when a start fails before its first event, asks
    /// <paramref name="retry"/> (which may wait, or note the failure) whether to start again, else throws.
    /// </summary>
    public static async IAsyncEnumerable<T> StreamAsync<T>(
        Func<CancellationToken, IAsyncEnumerable<T>> start, Func<Exception, ValueTask<bool>> retry,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var events = start(cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                bool any;
                ExceptionDispatchInfo? failure = null;
                try
                {
                    any = await events.MoveNextAsync();
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    (any, failure) = (false, ExceptionDispatchInfo.Capture(e));
                }

                if (failure is not null)
                {
                    if (await retry(failure.SourceException))
                    {
                        continue;
                    }

                    failure.Throw();
                }

                if (!any)
                {
                    yield break;
                }

                yield return events.Current;
                while (await events.MoveNextAsync())
                {
                    yield return events.Current;
                }

                yield break;
            }
            finally
            {
                await events.DisposeAsync();
            }
        }
    }
}
