using System.Runtime;

namespace ChatCluster.Silo.Hosting;

/// <summary>
/// Compacts the managed heap once a minute on silos that host conversations, so that their memory settles
/// instead of climbing between the collector's own full collections. A conversation activation lives for
/// minutes (the idle timeout), so by the time Orleans deactivates it, it is gen-2 garbage; left to itself the
/// GC let that garbage and the holes it leaves pile up for ~6 minutes before a compacting collection
/// (bench load mode, 64 clients, 15 min: RSS swung 646 → 694 MB and back, free space 40 → 88 MB). Compacting once
/// a minute left swings of ~25 MB, every 30 s ~10 MB (bench/results/load-1silo-soak-15min-compactor*.md); the
/// pause moves the small-object heap only (the engine's KV buffers live on the pinned heap and are never moved).
/// </summary>
internal sealed partial class HeapCompactor(TimeProvider time, ILogger<HeapCompactor> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var before = GC.GetTotalMemory(forceFullCollection: false);
                var started = time.GetTimestamp();
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                Compacted(logger, (before - GC.GetTotalMemory(false)) >> 20, time.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Heap compacted: {FreedMb} MB freed in {PauseMs:F1} ms")]
    private static partial void Compacted(ILogger logger, long freedMb, double pauseMs);
}
