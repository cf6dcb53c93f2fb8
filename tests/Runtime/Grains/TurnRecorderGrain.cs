using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public sealed class TurnRecorderGrain : Grain, ITurnRecorderGrain
{
    private readonly List<int> _order = [];
    private int _running;
    private int _maxConcurrency;

    public async Task RecordAsync(int index)
    {
        var running = Interlocked.Increment(ref _running);
        InterlockedMax(ref _maxConcurrency, running);
        lock (_order)
        {
            _order.Add(index);
        }

        await Task.Yield();
        await Task.Delay(1);
        Interlocked.Decrement(ref _running);
    }

    public ValueTask<TurnReport> GetReportAsync()
    {
        lock (_order)
        {
            return ValueTask.FromResult(new TurnReport([.. _order], Volatile.Read(ref _maxConcurrency)));
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
