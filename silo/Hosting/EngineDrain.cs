using ChatCluster.InferenceGrains;
using ChatCluster.Silo.Routing;

namespace ChatCluster.Silo.Hosting;

/// <summary>
/// Drains a silo's engines on shutdown (SIGTERM): they refuse new requests at once, their load reports say
/// so, so that routers send new turns elsewhere, and running generations finish before the silo leaves the
/// cluster. Registered after the Orleans silo, so the host stops it first, while grain calls still work.
/// </summary>
internal sealed partial class EngineDrain(LocalEngines engines, TimeSpan bound, ILogger<EngineDrain> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        engines.BeginDrain();
        var started = DateTime.UtcNow;
        Draining(logger, engines.Outstanding, bound.TotalSeconds);

        // Two polls, so every router has read "draining" before this silo's engines stop answering.
        await Task.Delay(2 * EngineCatalog.PollInterval, CancellationToken.None);
        while (engines.Outstanding > 0 && DateTime.UtcNow - started < bound && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(100, CancellationToken.None);
        }

        Drained(logger, engines.Outstanding, (DateTime.UtcNow - started).TotalSeconds);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining: {Outstanding} requests running or queued; new ones go to other engines (bound {Bound} s).")]
    private static partial void Draining(ILogger logger, int outstanding, double bound);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drained after {Seconds:F1} s ({Outstanding} requests left).")]
    private static partial void Drained(ILogger logger, int outstanding, double seconds);
}
