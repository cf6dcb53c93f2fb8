using System.Globalization;

namespace ChatCluster.Bench;

/// <summary>One silo's memory at one moment; null where it could not be read (a process gone, a metric not exported).</summary>
internal sealed record SiloMemory(
    string Silo,
    double? RssMb,
    double? GcHeapMb,
    double? GcFragmentationMb,
    double? PinnedHeapMb,
    double? GcCommittedMb,
    double? KvCacheMb,
    int? ConversationActivations,
    double? GcPauseSeconds);

/// <summary>
/// Reads the silos' memory: resident set size from /proc (what the machine pays, native memory and the GC's
/// committed but free space included), and from each silo's /metrics what it is made of: the GC heap after the
/// last collection, the free space inside it (fragmentation), the pinned object heap on its own (the engine's
/// KV buffers live there, and it is never compacted), what the GC keeps committed, the engine's KV caches (the
/// running batch and the caches kept for conversations' next turns) and the conversation grains in memory
/// (orleans_catalog_activations: every activation until it is collected; the working-set gauge counts only the
/// recently busy ones), and the time the GC has paused the process since it started (dotnet_gc_pause_time).
/// </summary>
internal sealed class MemorySampler(HttpClient http, LocalCluster cluster)
{
    private const double Mb = 1024 * 1024;

    public async Task<(double? RedisRssMb, IReadOnlyList<SiloMemory> Silos)> SampleAsync(CancellationToken cancellationToken)
    {
        var silos = await Task.WhenAll(cluster.Silos.Select(s => SampleAsync(s, cancellationToken)));
        return (RssMb(cluster.RedisProcessId), silos);
    }

    private async Task<SiloMemory> SampleAsync(LocalCluster.Node silo, CancellationToken cancellationToken)
    {
        var rss = RssMb(silo.ProcessId);
        var metrics = await ScrapeAsync(silo.Url, cancellationToken);
        double? Megabytes(string metric) => PrometheusText.Sum(metrics, metric) / Mb;
        return new SiloMemory(silo.Name, rss,
            Megabytes("dotnet_gc_last_collection_heap_size_bytes"),
            Megabytes("dotnet_gc_last_collection_heap_fragmentation_size_bytes"),
            PrometheusText.Sum(metrics, "dotnet_gc_last_collection_heap_size_bytes", "gc_heap_generation=\"poh\"") / Mb,
            Megabytes("dotnet_gc_last_collection_memory_committed_size_bytes"),
            Megabytes("chatcluster_inference_kv_cache_size_bytes"),
            (int?)PrometheusText.Sum(metrics, "orleans_catalog_activations", "grain_type=\"conversation\""),
            PrometheusText.Sum(metrics, "dotnet_gc_pause_time_seconds_total"));
    }

    /// <summary>The silo's /metrics, or "" when it does not answer in time (a busy silo: the RSS still counts).</summary>
    private async Task<string> ScrapeAsync(string url, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            return await http.GetStringAsync($"{url}/metrics", timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return "";
        }
    }

    /// <summary>VmRSS from /proc/PID/status, in MB; null when the process is gone.</summary>
    private static double? RssMb(int processId)
    {
        try
        {
            var line = File.ReadLines($"/proc/{processId}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
