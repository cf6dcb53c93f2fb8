using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

[Reentrant]
public sealed class ReentrantMeetingGrain(Rendezvous rendezvous) : Grain, IReentrantMeetingGrain
{
    public Task MeetAsync(string meeting, int parties) => rendezvous.ArriveAsync(meeting, parties);
}
