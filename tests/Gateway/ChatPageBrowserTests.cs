using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Gateway;

/// <summary>The chat page in headless Chromium against the real server: type, send, watch the reply stream in.</summary>
public sealed class ChatPageBrowserTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task A_message_typed_and_sent_gets_a_streamed_reply()
    {
        var screenshot = Path.Combine(AppContext.BaseDirectory, "chat-page.png");

        var seen = await ChatPageBrowser.SendAsync(new Uri(server.BaseAddress, "/"), "Hello! Who are you?", expect: "reply", screenshot: screenshot);

        Assert.Equal("Hello! Who are you?", seen.User);
        Assert.False(string.IsNullOrWhiteSpace(seen.Assistant), "no assistant reply appeared");
        Assert.NotEmpty(seen.Partials);
        Assert.All(seen.Partials, partial => Assert.StartsWith(partial, seen.Assistant!, StringComparison.Ordinal));
        Assert.Equal("", seen.Alert);
        Assert.True(seen.SendEnabledAfter);
        Assert.False(seen.StopEnabledAfter);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is missing or empty");
    }
}
