namespace ChatCluster.Silo.Runtime;

/// <summary>Why an activation was deactivated (for the log).</summary>
internal enum DeactivationReason
{
    /// <summary>No call for the idle timeout.</summary>
    Idle,

    /// <summary>The silo is stopping.</summary>
    Shutdown,
}
