namespace ChatCluster.Tests.Runtime.Grains;

public sealed record TurnReport(IReadOnlyList<int> Order, int MaxConcurrency);
