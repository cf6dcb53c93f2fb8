using ChatCluster.Grains;
using Microsoft.Extensions.Logging;

namespace ChatCluster.Silo.Runtime;

internal sealed partial class GrainActivation
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Activated {GrainId} ({Implementation})")]
    private static partial void LogActivated(ILogger logger, GrainId grainId, string implementation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Activating {GrainId} failed; its queued calls fail with the same exception")]
    private static partial void LogActivationFailed(ILogger logger, GrainId grainId, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deactivated {GrainId} ({Reason})")]
    private static partial void LogDeactivated(ILogger logger, GrainId grainId, DeactivationReason reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OnDeactivateAsync of {GrainId} failed; deactivation goes on")]
    private static partial void LogDeactivateFailed(ILogger logger, GrainId grainId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing back the state of {GrainId} at deactivation failed; changes not written by the grain are lost")]
    private static partial void LogWriteBackFailed(ILogger logger, GrainId grainId, Exception exception);
}
