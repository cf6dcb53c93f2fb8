using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public interface IReentrantMeetingGrain : IGrain
{
    Task MeetAsync(string meeting, int parties);
}
