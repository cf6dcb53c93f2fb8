using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ChatCluster.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ChatCluster.Tests.Deploy;

/// <summary>
/// The Aspire app host (deploy/aspire) as a developer runs it, in the split layout (--front 1 --inference 1):
/// redis-server, a front silo (--role front: API and conversations, no model) and an inference silo
/// (--role inference: the engine) under Aspire's orchestrator, and the dashboard receiving their telemetry.
/// Chat turns sent through the front must be answered by the engine on the inference silo and reach the
/// dashboard as one trace with spans from both silos; the dashboard's trace page is saved as
/// docs/aspire-trace.png. Every process it started is gone when it ends. (The --silos layout of role-all silos
/// shares all of this code but the role flags.)
/// </summary>
public sealed class AspireAppHostTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_turn_through_the_front_runs_on_the_inference_silo_and_reaches_the_dashboard_as_one_trace_from_both()
    {
        var started = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(Budget);
        var token = timeout.Token;
        var redisData = Directory.CreateTempSubdirectory("chatcluster-aspire-test-");
        var clusterId = "aspire-test-" + Guid.NewGuid().ToString("N")[..12];
        var redisPort = FreePort.Next();
        var dashboard = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var kubeconfig = "";
        // The app host's processes: redis-server renames itself "redis-server HOST:PORT"; the silos (and their
        // `dotnet run`) name the cluster id; Aspire's orchestrator (dcp) monitors this process; the dashboard
        // has its public URL in its environment.
        bool Ours(string commandLine, string environment) =>
            commandLine.Contains($"redis-server 127.0.0.1:{redisPort}", StringComparison.Ordinal)
            || commandLine.Contains(clusterId, StringComparison.Ordinal)
            || commandLine.Contains($"--monitor {Environment.ProcessId} ", StringComparison.Ordinal)
            || (commandLine.Contains("Aspire.Dashboard", StringComparison.Ordinal) && environment.Contains($":{dashboard.Port}", StringComparison.Ordinal));

        try
        {
            var builder = await DistributedApplicationTestingBuilder.CreateAsync(
                typeof(Program),
                [
                    "--Front", "1", "--Inference", "1", "--HttpPort", "0", "--RedisPort", redisPort.ToString(), "--RedisData", redisData.FullName,
                    "--ClusterId", clusterId,
                    // Fixed dashboard ports: the silos are sent the configured OTLP address, so the testing
                    // builder's random proxy ports would point them nowhere. Anonymous: no login token.
                    "--DcpPublisher:RandomizePorts", "false",
                    "--ASPNETCORE_URLS", dashboard.ToString().TrimEnd('/'),
                    "--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL", $"http://127.0.0.1:{FreePort.Next()}",
                    "--ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS", "true",
                    "--ASPIRE_ALLOW_UNSECURED_TRANSPORT", "true",
                ],
                (options, _) => options.DisableDashboard = false,
                token);

            await using (var app = await builder.BuildAsync(token))
            {
                await app.StartAsync(token);
                var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
                // The front turns healthy only once it knows an engine, i.e. once the inference silo has joined.
                await Task.WhenAll(
                    notifications.WaitForResourceHealthyAsync("inference0", token),
                    notifications.WaitForResourceHealthyAsync("front0", token));
                output.WriteLine($"silos healthy after {started.Elapsed.TotalSeconds:F1} s");

                using var front = new HttpClient { BaseAddress = app.GetEndpoint("front0", "http") };
                using var inference = new HttpClient { BaseAddress = app.GetEndpoint("inference0", "http") };

                // The inference silo serves no API: /v1 is the front's alone.
                using (var noApi = await inference.GetAsync("/v1/models", token))
                {
                    Assert.Equal(System.Net.HttpStatusCode.NotFound, noApi.StatusCode);
                }

                // Created through the front, the conversation lives there; its turns run on the engine of the
                // inference silo. The second turn carries a trace id of our choosing (traceparent), so the
                // dashboard can be asked for exactly that trace.
                var id = await CreateAsync(front, token);
                await SendAsync(front, id, "Define lantern", traceId: null, token);
                var traceId = ActivityTraceId.CreateRandom().ToHexString();
                await SendAsync(front, id, "Define harbor", traceId, token);

                var trace = await WaitForTraceAsync(dashboard, traceId, token);
                output.WriteLine($"trace {traceId} on the dashboard after {started.Elapsed.TotalSeconds:F1} s:");
                foreach (var span in trace)
                {
                    output.WriteLine($"  {span.Resource,-6} {span.Kind,-7} {span.Scope} {span.Name}");
                }

                // The request span on the front, Orleans' client span there and its server span on the
                // inference silo, then the engine's span there: one trace across both silos.
                Assert.Contains(trace, s => s.Resource == "front0" && s.Kind == "server" && s.Scope.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
                Assert.Contains(trace, s => s.Resource == "front0" && s.Kind == "client" && s.Scope == "Microsoft.Orleans.Application");
                Assert.Contains(trace, s => s.Resource == "inference0" && s.Kind == "server" && s.Scope == "Microsoft.Orleans.Application");
                Assert.Contains(trace, s => s.Resource == "inference0" && s.Name == "inference.chat");
                Assert.DoesNotContain(trace, s => s.Resource == "front0" && s.Name == "inference.chat");

                using var api = new HttpClient { BaseAddress = dashboard };
                var resources = await api.GetStringAsync("/api/telemetry/resources", token);
                output.WriteLine($"/api/telemetry/resources: {resources}");
                Assert.Contains("front0", resources, StringComparison.Ordinal);
                Assert.Contains("inference0", resources, StringComparison.Ordinal);

                var screenshot = Path.Combine(TestPaths.RepositoryRoot, "docs", "aspire-trace.png");
                var seen = await ScreenshotAsync(new Uri(dashboard, $"/traces/detail/{traceId}"), screenshot, ["inference.chat", "front0", "inference0"], token);
                output.WriteLine($"dashboard page: {seen}");
                Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is missing or empty");

                // The leftover check below must be able to see each kind of process while they run.
                var running = ProcessesWhere(Ours);
                output.WriteLine("running: " + string.Join("\n  ", running));
                Assert.Contains(running, p => p.Contains("redis-server", StringComparison.Ordinal));
                Assert.Contains(running, p => p.Contains("ChatCluster.Silo --urls", StringComparison.Ordinal) && p.Contains("--role front", StringComparison.Ordinal));
                Assert.Contains(running, p => p.Contains("ChatCluster.Silo --urls", StringComparison.Ordinal) && p.Contains("--role inference", StringComparison.Ordinal));
                var apiServer = Assert.Single(running, p => p.Contains("dcp start-apiserver", StringComparison.Ordinal));
                kubeconfig = Regex.Match(apiServer, @"--kubeconfig (\S+)").Groups[1].Value;
                Assert.NotEmpty(kubeconfig);
                Assert.Contains(running, p => p.Contains("Aspire.Dashboard", StringComparison.Ordinal));
            }

            output.WriteLine($"app host stopped after {started.Elapsed.TotalSeconds:F1} s");
            // dcp's controllers and process monitors share the API server's kubeconfig.
            await AssertNoProcessLeftAsync((commandLine, environment) => Ours(commandLine, environment) || (kubeconfig.Length > 0 && commandLine.Contains(kubeconfig, StringComparison.Ordinal)));
            output.WriteLine($"done after {started.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            redisData.Delete(recursive: true);
        }
    }

    private sealed record Span(string Resource, string Scope, string Name, string Kind);

    private static async Task<string> CreateAsync(HttpClient silo, CancellationToken token)
    {
        using var created = await silo.PostAsJsonAsync("/v1/conversations", new { system = "You are a dictionary." }, token);
        Assert.True(created.IsSuccessStatusCode, $"{(int)created.StatusCode}: {await created.Content.ReadAsStringAsync(token)}");
        return (await created.Content.ReadFromJsonAsync<JsonElement>(token)).GetProperty("id").GetString()!;
    }

    private static async Task SendAsync(HttpClient silo, string id, string content, string? traceId, CancellationToken token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/conversations/{id}/messages")
        {
            Content = JsonContent.Create(new { content, max_tokens = 8 }),
        };
        if (traceId is not null)
        {
            request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        }

        using var reply = await silo.SendAsync(request, token);
        var body = await reply.Content.ReadAsStringAsync(token);
        Assert.True(reply.IsSuccessStatusCode, $"{(int)reply.StatusCode}: {body}");
        Assert.Equal("assistant", JsonDocument.Parse(body).RootElement.GetProperty("role").GetString());
    }

    /// <summary>
    /// Polls the dashboard's telemetry API for the trace until the engine's span is there (spans reach it in
    /// batches, about a second apart in Development) and returns its spans.
    /// </summary>
    private static async Task<List<Span>> WaitForTraceAsync(Uri dashboard, string traceId, CancellationToken token)
    {
        using var api = new HttpClient { BaseAddress = dashboard };
        var last = "";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            using var reply = await api.GetAsync($"/api/telemetry/traces/{traceId}", token);
            last = $"{(int)reply.StatusCode}: {await reply.Content.ReadAsStringAsync(token)}";
            if (reply.IsSuccessStatusCode)
            {
                var spans = ParseSpans(JsonDocument.Parse(await reply.Content.ReadAsStringAsync(token)).RootElement);
                if (spans.Exists(s => s.Name == "inference.chat") && spans.Exists(s => s.Resource == "front0" && s.Kind == "server"))
                {
                    return spans;
                }
            }

            await Task.Delay(500, token);
        }

        throw new TimeoutException($"trace {traceId} with spans from both silos did not reach the dashboard; last answer {last}");
    }

    /// <summary>Spans of an OTLP JSON answer (data.resourceSpans[].scopeSpans[].spans[]), with their resource's service.name.</summary>
    private static List<Span> ParseSpans(JsonElement answer)
    {
        var spans = new List<Span>();
        foreach (var resourceSpans in answer.GetProperty("data").GetProperty("resourceSpans").EnumerateArray())
        {
            var resource = resourceSpans.GetProperty("resource").GetProperty("attributes").EnumerateArray()
                .Where(a => a.GetProperty("key").GetString() == "service.name")
                .Select(a => a.GetProperty("value").GetProperty("stringValue").GetString())
                .FirstOrDefault() ?? "?";
            foreach (var scopeSpans in resourceSpans.GetProperty("scopeSpans").EnumerateArray())
            {
                var scope = scopeSpans.GetProperty("scope").GetProperty("name").GetString() ?? "";
                foreach (var span in scopeSpans.GetProperty("spans").EnumerateArray())
                {
                    spans.Add(new Span(resource, scope, span.GetProperty("name").GetString() ?? "", KindName(span)));
                }
            }
        }

        return spans;
    }

    // OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    private static string KindName(JsonElement span) =>
        span.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.Number
            ? kind.GetInt32() switch { 1 => "internal", 2 => "server", 3 => "client", 4 => "producer", 5 => "consumer", _ => "unset" }
            : "unset";

    /// <summary>Runs aspire-trace.mjs (playwright-core from tests/Gateway/browser, Debian's Chromium).</summary>
    private static async Task<string> ScreenshotAsync(Uri page, string screenshot, string[] expect, CancellationToken token)
    {
        var script = Path.Combine(TestPaths.RepositoryRoot, "tests", "Deploy");
        var modules = Path.Combine(TestPaths.RepositoryRoot, "tests", "Gateway", "browser") + Path.DirectorySeparatorChar;
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = script,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("aspire-trace.mjs");
        start.ArgumentList.Add(JsonSerializer.Serialize(new { url = page.ToString(), expect, screenshot, modules }));
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync(token);
        var stderr = node.StandardError.ReadToEndAsync(token);
        try
        {
            await node.WaitForExitAsync(token);
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
            }
        }

        Assert.True(node.ExitCode == 0, $"aspire-trace.mjs failed ({node.ExitCode}): {await stderr}");
        return (await stdout).Trim();
    }

    /// <summary>Every process the app host started must be gone once it is disposed (the orchestrator may take a few seconds).</summary>
    private static async Task AssertNoProcessLeftAsync(Func<string, string, bool> ours)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        List<string> left;
        while ((left = ProcessesWhere(ours)).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        Assert.True(left.Count == 0, "processes left running:\n" + string.Join('\n', left));
    }

    /// <summary>Other processes whose command line and environment (read from /proc) match.</summary>
    private static List<string> ProcessesWhere(Func<string, string, bool> match)
    {
        var found = new List<string>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var commandLine = ReadNulSeparated(Path.Combine(directory, "cmdline"));
                var environment = commandLine.Contains("Aspire.Dashboard", StringComparison.Ordinal) ? ReadNulSeparated(Path.Combine(directory, "environ")) : "";
                if (match(commandLine, environment))
                {
                    found.Add($"{pid}: {commandLine}");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited while we looked, or not ours to read.
            }
        }

        return found;
    }

    private static string ReadNulSeparated(string path) => Encoding.UTF8.GetString(File.ReadAllBytes(path)).Replace('\0', ' ');
}
