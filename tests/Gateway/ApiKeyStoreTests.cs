using ChatCluster.Gateway;
using ChatCluster.Gateway.Security;

namespace ChatCluster.Tests.Gateway;

public sealed class ApiKeyStoreTests
{
    [Fact]
    public void Without_keys_the_store_is_open()
    {
        var store = ApiKeyStore.FromOptions(new GatewayOptions { ModelId = "m" });

        Assert.True(store.IsOpen);
        Assert.Null(store.FindOwner("anything"));
    }

    [Fact]
    public void Each_key_has_a_stable_owner_id_that_does_not_reveal_it()
    {
        var store = new ApiKeyStore(["sk-alpha-123", "sk-beta-456"]);

        var alpha = store.FindOwner("sk-alpha-123");
        var beta = store.FindOwner("sk-beta-456");

        Assert.NotNull(alpha);
        Assert.NotNull(beta);
        Assert.NotEqual(alpha, beta);
        Assert.Equal(alpha, new ApiKeyStore(["sk-alpha-123"]).FindOwner("sk-alpha-123"));
        Assert.Equal(alpha, ApiKeyStore.OwnerIdOf("sk-alpha-123"));
        Assert.DoesNotContain("alpha", alpha, StringComparison.Ordinal);
        Assert.Matches("^[0-9a-f]{32}$", alpha);
    }

    [Theory]
    [InlineData("sk-alpha-12")]
    [InlineData("sk-alpha-1234")]
    [InlineData("SK-ALPHA-123")]
    [InlineData("")]
    public void Other_strings_are_not_keys(string presented)
    {
        var store = new ApiKeyStore(["sk-alpha-123"]);

        Assert.Null(store.FindOwner(presented));
    }

    [Fact]
    public void Keys_come_from_the_options_and_the_keys_file()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["# team keys", "", "  sk-from-file  ", "sk-second"]);
            var store = ApiKeyStore.FromOptions(new GatewayOptions { ModelId = "m", ApiKeys = ["sk-inline"], KeysFile = path });

            Assert.Equal(3, store.Count);
            Assert.NotNull(store.FindOwner("sk-inline"));
            Assert.NotNull(store.FindOwner("sk-from-file"));
            Assert.NotNull(store.FindOwner("sk-second"));
            Assert.Null(store.FindOwner("# team keys"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_key_with_whitespace_is_refused_at_start_up()
    {
        Assert.Throws<ArgumentException>(() => new ApiKeyStore(["two words"]));
    }
}
