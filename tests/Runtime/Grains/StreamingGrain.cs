using System.Runtime.CompilerServices;
using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public sealed class StreamingGrain : Grain, IStreamingGrain
{
    private readonly List<string> _log = [];

    public IAsyncEnumerable<int> CountAsync(int count, CancellationToken cancellationToken = default) =>
        YieldAsync(count, cancellationToken);

    public IAsyncEnumerable<int> EndlessAsync() => YieldAsync(int.MaxValue);

    public async IAsyncEnumerable<int> FailAfterAsync(int count, Exception exception)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return i;
        }

        throw exception;
    }

    public Task MarkAsync(string entry)
    {
        _log.Add(entry);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> GetLogAsync() => Task.FromResult<IReadOnlyList<string>>([.. _log]);

    private async IAsyncEnumerable<int> YieldAsync(int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _log.Add("start");
        var completed = false;
        try
        {
            for (var i = 0; i < count; i++)
            {
                // Task.Delay observes the token the way real work (a model step) would.
                await Task.Delay(1, cancellationToken);
                yield return i;
            }

            completed = true;
        }
        finally
        {
            _log.Add(completed ? "end" : cancellationToken.IsCancellationRequested ? "cancelled" : "abandoned");
        }
    }
}
