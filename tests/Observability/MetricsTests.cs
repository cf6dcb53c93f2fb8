using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Observability;

/// <summary>
/// /metrics as operators use it: Debian's real Prometheus scrapes a silo that served chat turns and answers
/// queries for the token and time-to-first-token series, and every metric the Grafana dashboard in deploy/
/// queries is one the silo really exports.
/// </summary>
public sealed partial class MetricsTests(ServerFixture server) : IClassFixture<ServerFixture>, IAsyncLifetime
{
    public async Task InitializeAsync()
    {
        // Traffic that touches every instrument: conversation turns (grain, storage, engine) and a refused request.
        var created = await server.Client.PostAsJsonAsync("/v1/conversations", new { system = "Be brief." });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        for (var turn = 0; turn < 2; turn++)
        {
            (await server.Client.PostAsJsonAsync($"/v1/conversations/{id}/messages", new { content = "Define lantern", max_tokens = 6 })).EnsureSuccessStatusCode();
        }

        using var missing = await server.Client.GetAsync("/v1/conversations/conv_missing");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Prometheus_scrapes_the_silo_and_answers_for_tokens_and_time_to_first_token()
    {
        var prometheus = FindPrometheus();
        var directory = Directory.CreateTempSubdirectory("chatcluster-prometheus-");
        var port = FreePort.Next();
        var config = Path.Combine(directory.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: chatcluster
                metrics_path: /metrics
                static_configs:
                  - targets: ["{server.BaseAddress.Authority}"]
            """);
        var start = new ProcessStartInfo(prometheus) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in (string[])[$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory.FullName, "data")}",
            $"--web.listen-address=127.0.0.1:{port}"])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            double tokens = 0, firstTokens = 0;
            await AsyncTimeouts.UntilAsync(
                () =>
                {
                    tokens = QueryAsync(api, "sum(chatcluster_inference_generated_tokens_total)").GetAwaiter().GetResult();
                    firstTokens = QueryAsync(api, "sum(gen_ai_server_time_to_first_token_seconds_count)").GetAwaiter().GetResult();
                    return tokens > 0 && firstTokens > 0;
                },
                "Prometheus has scraped the token and time-to-first-token series",
                TimeSpan.FromSeconds(60));

            Assert.True(tokens >= 12, $"{tokens} generated tokens"); // two turns of 6 tokens, at least
            Assert.True(firstTokens >= 2, $"{firstTokens} first tokens");
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Every_metric_the_grafana_dashboard_queries_is_exported_by_the_silo()
    {
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot, "deploy", "grafana", "chatcluster-dashboard.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray())
            .Select(target => target.GetProperty("expr").GetString()!)
            .ToList();
        var scrape = await server.Client.GetStringAsync("/metrics");
        var exported = scrape.Split('\n').Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => line[..line.IndexOfAny(['{', ' '])]).ToHashSet();

        var queried = expressions.SelectMany(e => MetricName().Matches(LabelLists().Replace(e, "")).Select(m => m.Value)).ToHashSet();

        Assert.True(queried.Count >= 15, $"{queried.Count} metrics queried");
        Assert.All(queried, name => Assert.True(exported.Contains(name), $"the dashboard queries {name}, which /metrics does not export"));
    }

    private static async Task<double> QueryAsync(HttpClient api, string query)
    {
        try
        {
            var answer = await api.GetFromJsonAsync<JsonElement>($"/api/v1/query?query={Uri.EscapeDataString(query)}");
            var result = answer.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0 ? 0 : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return 0; // not listening yet
        }
    }

    private static string FindPrometheus() =>
        File.Exists("/usr/bin/prometheus")
            ? "/usr/bin/prometheus"
            : throw new InvalidOperationException("Debian's prometheus is not installed: `apt-get install -y prometheus` (.ci/run does this).");

    /// <summary>Series names in PromQL once label lists are gone: the project's, GenAI's, Orleans', ASP.NET Core's and .NET's prefixes.</summary>
    [GeneratedRegex(@"\b(?:chatcluster|gen_ai|orleans|http|dotnet|kestrel|aspnetcore)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();

    /// <summary>Label lists: <c>by (...)</c>, <c>without (...)</c> and selectors <c>{...}</c>.</summary>
    [GeneratedRegex(@"\b(?:by|without)\s*\([^)]*\)|\{[^}]*\}")]
    private static partial Regex LabelLists();
}
