using ChatCluster.Gateway;

namespace ChatCluster.Tests.Gateway;

/// <summary>The chat page in headless Chromium against the gateway alone: what it does when the server refuses.</summary>
public sealed class ChatPageErrorBrowserTests
{
    [Fact]
    public async Task Without_the_servers_key_the_page_shows_the_refusal_in_its_alert()
    {
        await using var host = await GatewayTestHost.StartAsync(new GatewayOptions { ModelId = "tiny", ApiKeys = ["sk-page"] });

        var seen = await ChatPageBrowser.SendAsync(new Uri(host.Client.BaseAddress!, "/"), "Hello there", expect: "error");

        Assert.Equal("Hello there", seen.User);
        Assert.Contains("didn't provide an API key", seen.Alert, StringComparison.Ordinal);
        Assert.Null(seen.Assistant);
        Assert.True(seen.SendEnabledAfter);
        Assert.False(seen.StopEnabledAfter);
    }

    [Fact]
    public async Task With_a_wrong_key_typed_into_the_settings_the_page_shows_the_servers_message()
    {
        await using var host = await GatewayTestHost.StartAsync(new GatewayOptions { ModelId = "tiny", ApiKeys = ["sk-page"] });

        var seen = await ChatPageBrowser.SendAsync(new Uri(host.Client.BaseAddress!, "/"), "Hi", expect: "error", apiKey: "sk-wrong");

        Assert.Contains("Incorrect API key", seen.Alert, StringComparison.Ordinal);
    }
}
