using System.Runtime.CompilerServices;
using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public sealed class StreamingGrain(GrainEventLog log) : Grain, IStreamingGrain
{
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
        log.Add(Id, entry);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> GetLogAsync() => Task.FromResult(log.Of(Id));

    private async IAsyncEnumerable<int> YieldAsync(int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        log.Add(Id, "start");
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
            log.Add(Id, completed ? "end" : cancellationToken.IsCancellationRequested ? "cancelled" : "abandoned");
        }
    }
}
