using System.Collections.Concurrent;

namespace ChatCluster.Tests.Runtime;

/// <summary>
/// A meeting point: each party that arrives waits until all have arrived. Calls that meet here can only finish
/// if they are in their turns at the same time, which is how the tests prove parallelism without timing.
/// </summary>
public sealed class Rendezvous
{
    private readonly ConcurrentDictionary<string, Meeting> _meetings = new();

    public Task ArriveAsync(string meeting, int parties)
    {
        var entry = _meetings.GetOrAdd(meeting, static (_, parties) => new Meeting(parties), parties);
        if (Interlocked.Decrement(ref entry.Missing) == 0)
        {
            entry.AllArrived.TrySetResult();
        }

        // A generous bound turns a deadlock (calls serialized that should not be) into a failure, not a hang.
        return entry.AllArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private sealed class Meeting(int parties)
    {
        public readonly TaskCompletionSource AllArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Missing = parties;
    }
}
