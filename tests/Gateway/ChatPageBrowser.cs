using System.Diagnostics;
using System.Text.Json;

namespace ChatCluster.Tests.Gateway;

/// <summary>
/// Runs tests/Gateway/browser/chat-page.mjs (playwright-core driving /usr/bin/chromium) against a served chat
/// page and returns what it saw there.
/// </summary>
internal static class ChatPageBrowser
{
    public sealed record Seen(string? User, string? Assistant, string[] Partials, string Alert, bool StopEnabledAfter, bool SendEnabledAfter);

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static async Task<Seen> SendAsync(Uri page, string message, string expect, string? apiKey = null, string? screenshot = null)
    {
        var config = JsonSerializer.Serialize(new { url = page.ToString(), message, expect, apiKey, screenshot }, Json);
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = ScriptDirectory(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("chat-page.mjs");
        start.ArgumentList.Add(config);
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"chat-page.mjs failed ({node.ExitCode}): {await errors}");
        return JsonSerializer.Deserialize<Seen>((await output).Trim(), Json)!;
    }

    /// <summary>The script's folder in the source tree (its node_modules are restored there by Browser.targets).</summary>
    private static string ScriptDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "Gateway", "browser");
            if (File.Exists(Path.Combine(candidate, "chat-page.mjs")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/Gateway/browser not found above " + AppContext.BaseDirectory);
    }
}
