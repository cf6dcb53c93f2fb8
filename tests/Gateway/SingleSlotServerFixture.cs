using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Gateway;

/// <summary>The real silo with room for one sequence per batch, so a slot not freed would block every later request.</summary>
public sealed class SingleSlotServerFixture : ServerFixture
{
    protected override string[] Arguments => ["--max-batch", "1"];
}
