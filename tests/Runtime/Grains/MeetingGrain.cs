using ChatCluster.Grains;

namespace ChatCluster.Tests.Runtime.Grains;

public sealed class MeetingGrain(Rendezvous rendezvous) : Grain, IMeetingGrain
{
    public Task MeetAsync(string meeting, int parties) => rendezvous.ArriveAsync(meeting, parties);
}
