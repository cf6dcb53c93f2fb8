using System.Net.Http.Json;
using System.Text.Json;
using ChatCluster.Tests.Gateway;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Observability;

/// <summary>The Orleans dashboard at /dashboard, rendered in Chromium: its grains page lists the silo's conversation grains.</summary>
public sealed class DashboardBrowserTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task The_orleans_dashboard_renders_and_lists_the_conversation_grains()
    {
        for (var c = 0; c < 3; c++)
        {
            var created = await server.Client.PostAsJsonAsync("/v1/conversations", new { system = "Be brief." });
            var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            (await server.Client.PostAsJsonAsync($"/v1/conversations/{id}/messages", new { content = "Define harbor", max_tokens = 4 })).EnsureSuccessStatusCode();
        }

        var screenshot = Path.Combine(AppContext.BaseDirectory, "orleans-dashboard.png");
        var text = await ChatPageBrowser.ReadPageAsync(new Uri(server.BaseAddress, "/dashboard/#/grains"), waitFor: "ConversationGrain", screenshot);

        Assert.Contains("ConversationGrain", text, StringComparison.Ordinal);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is missing or empty");
        File.Copy(screenshot, Path.Combine(TestPaths.RepositoryRoot, "docs", "orleans-dashboard.png"), overwrite: true);
    }
}
