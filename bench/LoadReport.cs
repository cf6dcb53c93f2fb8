using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace ChatCluster.Bench;

/// <summary>
/// The load mode's results: the summary on the console; NAME.json (every sample), NAME.md (summary and samples,
/// with the machine and the exact command) and NAME.png (memory over time per silo, and tokens/s, drawn by
/// bench/plot_load.py), where NAME is <see cref="LoadOptions.ReportName"/>.
/// </summary>
internal sealed class LoadReport(LoadOptions options, string setup, IReadOnlyList<LoadSample> samples, LoadSummary summary)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    private string Basename => Path.Combine(options.OutputDirectory, options.ReportName);

    public void Print()
    {
        var table = new Table().AddColumns("silo", "RSS start", "after 1 min", "end", "slope, last half", "last third vs the minute before", "GC pause, last half", "GC heap end", "POH end", "KV cache end", "conversations");
        foreach (var s in summary.Silos)
        {
            table.AddRow(Markup.Escape(s.Silo), Mb(s.RssStartMb), Mb(s.RssAfter1MinMb), Mb(s.RssEndMb), $"{Number(s.RssSlopeLastHalfMbPerMin, "F1")} MB/min",
                Band(s.RssSettleBand), $"{Number(s.GcPauseMsPerMinLastHalf, "F0")} ms/min", Mb(s.GcHeapEndMb), Mb(s.PinnedHeapEndMb), Mb(s.KvCacheEndMb), Number(s.ConversationActivationsEnd, "F0"));
        }

        AnsiConsole.Write(table);
        var errors = summary.Errors > 0 ? $"[red]{summary.Errors} errors[/]" : "0 errors";
        AnsiConsole.MarkupLine($"  {summary.Turns} turns in {summary.WallSeconds:F0} s, {errors}, {summary.TokensPerSecond:F0} tok/s, " +
            $"TTFT p50/p99 {summary.TtftP50Ms:F0}/{summary.TtftP99Ms:F0} ms, end-to-end p50/p99 {summary.EndToEndP50Ms:F0}/{summary.EndToEndP99Ms:F0} ms");
        foreach (var (message, count) in summary.ErrorMessages.OrderByDescending(e => e.Value))
        {
            AnsiConsole.MarkupLine($"[red]  {count} x {Markup.Escape(message)}[/]");
        }
    }

    public async Task WriteAsync()
    {
        Directory.CreateDirectory(options.OutputDirectory);
        var json = JsonSerializer.Serialize(new
        {
            machine = MachineInfo.Line,
            command = options.Command,
            setup,
            model = Path.GetFileName(options.Model),
            clients = options.Clients,
            minutes = options.Minutes,
            turns_per_conversation = options.TurnsPerConversation,
            tokens = options.Tokens,
            sample_seconds = options.SampleSeconds,
            silo_environment = options.SiloEnvironment,
            summary,
            samples,
        }, Json);
        await File.WriteAllTextAsync(Basename + ".json", json);
        await File.WriteAllTextAsync(Basename + ".md", Markdown());
        var plotted = await PlotAsync();
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(Basename)}.json, .md{(plotted ? " and .png" : "; [red]the plot failed[/]")}");
    }

    private string Markdown()
    {
        var md = new StringBuilder($"Machine: {MachineInfo.Line}\n\nCommand: `{options.Command}`\n\n");
        md.Append($"{setup}. Model {Path.GetFileName(options.Model)}. {options.Clients} concurrent streaming clients for {options.Minutes:0.##} min, " +
            $"client i on silo i mod {options.Silos}, each running turns of {options.Tokens} tokens (end tokens banned) back to back and opening a new " +
            $"conversation every {options.TurnsPerConversation} turns. Every {options.SampleSeconds} s: each silo's RSS (VmRSS), GC heap after the " +
            "last collection, of which free (fragmentation) and pinned object heap (POH: the engine's KV buffers), and GC committed memory " +
            "(dotnet_gc_* on /metrics), KV cache held by the engine (chatcluster_inference_kv_cache_size_bytes: running batch and caches kept " +
            "for next turns, counted as rows x length, not buffer capacity), conversation grain activations (orleans_catalog_activations); the " +
            "first sample is the idle silos before any client. Slope: least squares of RSS over the samples of the run's second half. " +
            "Settle band: the lowest and highest RSS of the run's last third against the mean RSS of the minute before it. GC pause: " +
            "dotnet_gc_pause_time over the run's second half, per minute. " +
            "End-to-end: message request sent to its last delta.\n\n");
        if (options.SiloEnvironment.Count > 0)
        {
            md.Append($"Silo environment: `{string.Join(' ', options.SiloEnvironment.Select(e => $"{e.Key}={e.Value}"))}`\n\n");
        }

        md.Append("| silo | RSS start MB | RSS after 1 min MB | RSS end MB | RSS peak MB | RSS slope, last half, MB/min | RSS last third vs the minute before | " +
            "GC pause, last half, ms/min | GC heap start / end MB | of which free, end MB | POH end MB | GC committed end MB | KV cache end MB | conversation activations end |\n" +
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var s in summary.Silos)
        {
            md.Append($"| {s.Silo} | {Number(s.RssStartMb)} | {Number(s.RssAfter1MinMb)} | {Number(s.RssEndMb)} | {Number(s.RssPeakMb)} | " +
                $"{Number(s.RssSlopeLastHalfMbPerMin, "F1")} | {Band(s.RssSettleBand)} | {Number(s.GcPauseMsPerMinLastHalf, "F0")} | " +
                $"{Number(s.GcHeapStartMb)} / {Number(s.GcHeapEndMb)} | {Number(s.GcFragmentationEndMb)} | " +
                $"{Number(s.PinnedHeapEndMb)} | {Number(s.GcCommittedEndMb)} | {Number(s.KvCacheEndMb)} | {Number(s.ConversationActivationsEnd, "F0")} |\n");
        }

        md.Append($"\n| turns | errors | tokens/s | TTFT p50 / p99 ms | end-to-end p50 / p99 ms | redis RSS start / end MB |\n|---|---|---|---|---|---|\n" +
            $"| {summary.Turns} | {summary.Errors} | {summary.TokensPerSecond:F0} | {summary.TtftP50Ms:F0} / {summary.TtftP99Ms:F0} | " +
            $"{summary.EndToEndP50Ms:F0} / {summary.EndToEndP99Ms:F0} | {Number(summary.RedisRssStartMb)} / {Number(summary.RedisRssEndMb)} |\n");
        foreach (var (message, count) in summary.ErrorMessages.OrderByDescending(e => e.Value))
        {
            md.Append($"\n- {count} x `{message}`");
        }

        md.Append($"\n\n![RSS, GC heap and KV cache per silo, and tokens/s, over time]({options.ReportName}.png)\n\n");
        var names = string.Join(" / ", summary.Silos.Select(s => s.Silo));
        md.Append($"Samples (memory columns: {names}):\n\n| s | tokens/s | turns | errors | TTFT p50 ms | end-to-end p50 / p99 ms | RSS MB | " +
            "GC heap MB | free MB | POH MB | KV cache MB | conversations | redis RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var s in samples)
        {
            string Each(Func<SiloMemory, double?> value) => string.Join(" / ", s.Silos.Select(m => Number(value(m))));
            md.Append($"| {s.Seconds:F0} | {s.TokensPerSecond:F0} | {s.Turns} | {s.Errors} | {s.TtftP50Ms:F0} | {s.EndToEndP50Ms:F0} / {s.EndToEndP99Ms:F0} | " +
                $"{Each(m => m.RssMb)} | {Each(m => m.GcHeapMb)} | {Each(m => m.GcFragmentationMb)} | {Each(m => m.PinnedHeapMb)} | {Each(m => m.KvCacheMb)} | " +
                $"{Each(m => m.ConversationActivations)} | {Number(s.RedisRssMb)} |\n");
        }

        return md.ToString();
    }

    /// <summary>Runs bench/plot_load.py with the Debian python that has matplotlib; false when it fails (the figures are written anyway).</summary>
    private async Task<bool> PlotAsync()
    {
        var script = Path.Combine(BenchOptions.FindRepositoryRoot(), "bench", "plot_load.py");
        using var process = Process.Start("/usr/bin/python3", [script, Basename + ".json", Basename + ".png"]);
        await process.WaitForExitAsync();
        return process.ExitCode == 0;
    }

    private static string Mb(double? value) => value is { } mb ? $"{mb:F0} MB" : "-";

    private static string Band(LoadSummary.Band? band) =>
        band is { } b ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{b.LowPercent:+0.0;-0.0}% / {b.HighPercent:+0.0;-0.0}%") : "-";

    private static string Number(double? value, string format = "F0") => value is { } v ? v.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "-";
}
