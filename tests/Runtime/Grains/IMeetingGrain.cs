using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public interface IMeetingGrain : IGrain
{
    /// <summary>Completes once <paramref name="parties"/> calls (to any grains) have arrived at <paramref name="meeting"/>.</summary>
    Task MeetAsync(string meeting, int parties);
}
