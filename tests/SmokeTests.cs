namespace ChatCluster.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void Grain_id_formats_as_type_and_key() =>
        Assert.Equal("conv/abc", new ChatCluster.Grains.GrainId("conv", "abc").ToString());
}
