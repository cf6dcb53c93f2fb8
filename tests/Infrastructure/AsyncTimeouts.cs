namespace ChatCluster.Tests.Infrastructure;

/// <summary>A test that waits on something that never comes fails with a message instead of hanging CI.</summary>
public static class AsyncTimeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(60);

    public static async IAsyncEnumerable<T> WithTimeout<T>(this IAsyncEnumerable<T> source, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Default);
        await using var e = source.GetAsyncEnumerator(cts.Token);
        while (true)
        {
            bool more;
            try
            {
                more = await e.MoveNextAsync();
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"No item within {timeout ?? Default}.");
            }

            if (!more)
            {
                yield break;
            }

            yield return e.Current;
        }
    }

    /// <summary>Polls until the condition holds, or fails after the timeout.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(2);
        }
    }

    /// <summary>Polls an asynchronous condition (an HTTP probe, say) every 50 ms until it holds, or fails after the timeout.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Default);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }
}
