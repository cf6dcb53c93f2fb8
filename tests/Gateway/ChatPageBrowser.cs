using System.Diagnostics;
using System.Text.Json;

namespace ChatCluster.Tests.Gateway;

/// <summary>
/// Runs the scripts of tests/Gateway/browser (playwright-core driving /usr/bin/chromium) against served pages
/// and returns what they saw there: chat-page.mjs uses the chat page as a person would, page-text.mjs reads a page.
/// </summary>
internal static class ChatPageBrowser
{
    public sealed record Seen(string? User, string? Assistant, string[] Partials, string Alert, bool StopEnabledAfter, bool SendEnabledAfter);

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static async Task<Seen> SendAsync(Uri page, string message, string expect, string? apiKey = null, string? screenshot = null)
    {
        var config = JsonSerializer.Serialize(new { url = page.ToString(), message, expect, apiKey, screenshot }, Json);
        return JsonSerializer.Deserialize<Seen>(await RunScriptAsync("chat-page.mjs", config), Json)!;
    }

    /// <summary>The visible text of a page once it shows <paramref name="waitFor"/> (page-text.mjs); optionally a screenshot.</summary>
    public static async Task<string> ReadPageAsync(Uri page, string waitFor, string? screenshot = null)
    {
        var config = JsonSerializer.Serialize(new { url = page.ToString(), waitFor, screenshot }, Json);
        var output = await RunScriptAsync("page-text.mjs", config);
        return JsonDocument.Parse(output).RootElement.GetProperty("text").GetString()!;
    }

    private static async Task<string> RunScriptAsync(string script, string config)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = ScriptDirectory(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(config);
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"{script} failed ({node.ExitCode}): {await errors}");
        return (await output).Trim();
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
