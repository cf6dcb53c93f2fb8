using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public interface ITurnRecorderGrain : IGrain
{
    /// <summary>Records the call's index, yielding the thread inside the turn so overlapping calls would show.</summary>
    Task RecordAsync(int index);

    /// <summary>The indexes in the order their turns ran, and the most turns seen running at once.</summary>
    ValueTask<TurnReport> GetReportAsync();
}
