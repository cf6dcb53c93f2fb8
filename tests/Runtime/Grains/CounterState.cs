namespace ChatCluster.Tests.Runtime.Grains;

public sealed class CounterState
{
    public int Count { get; set; }
}
