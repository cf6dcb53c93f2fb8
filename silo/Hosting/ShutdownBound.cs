using System.Runtime.InteropServices;

namespace ChatCluster.Silo.Hosting;

/// <summary>
/// Ends the process a fixed time after shutdown begins (SIGTERM), whatever its dependencies do. Orleans leaves
/// the cluster by writing its status to the membership table: with Redis gone, a silo sent SIGTERM took 121 s to
/// exit (each stage waits out its own timeout), and the host's shutdown timeout does not bound that. Nothing is
/// lost by cutting it short: a turn is acknowledged only after its commit, so what is not stored was never
/// acknowledged, and the other silos declare this one dead by its missed probes. Armed by the serve command
/// only: it ends the whole process, so a node hosted inside another program (the tests' servers) never arms it.
/// </summary>
internal static partial class ShutdownBound
{
    /// <summary>The exit code when the bound ran out (0 is a shutdown that finished within it).</summary>
    public const int ExitCodeBoundReached = 2;

    /// <summary>What the bound leaves after the drain: the node leaves the cluster and stops, Redis willing.</summary>
    public static readonly TimeSpan AfterDrain = TimeSpan.FromSeconds(5);

    /// <summary>From shutdown's start, ends the process after <paramref name="bound"/> unless it stopped by then.</summary>
    public static void Arm(IHostApplicationLifetime lifetime, TimeSpan bound, ILogger logger)
    {
        var stopped = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopped);
        lifetime.ApplicationStopping.Register(() => _ = EndAfterAsync(bound, logger, stopped.Token));
    }

    private static async Task EndAfterAsync(TimeSpan bound, ILogger logger, CancellationToken stopped)
    {
        try
        {
            await Task.Delay(bound, stopped);
        }
        catch (OperationCanceledException)
        {
            return; // stopped in time
        }

        BoundReached(logger, bound.TotalSeconds);
        await Console.Out.FlushAsync();
        await Console.Error.FlushAsync();

        // _exit, not Environment.Exit: the host's own exit handler would wait for the shutdown that is stuck.
        ExitNow(ExitCodeBoundReached);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void ExitNow(int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown did not finish within {Bound} s (is Redis reachable?); exiting now.")]
    private static partial void BoundReached(ILogger logger, double bound);
}
