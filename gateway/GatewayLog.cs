using Microsoft.Extensions.Logging;

namespace ChatCluster.Gateway;

/// <summary>The gateway's log messages, compiled once by the logging source generator.</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(1, LogLevel.Warning, "No API keys are configured: the API is open to every caller, as for local use. Pass --api-key to require keys.")]
    public static partial void OpenAccess(ILogger logger);

    [LoggerMessage(2, LogLevel.Information, "The API requires a key: {KeyCount} keys accepted.")]
    public static partial void KeysRequired(ILogger logger, int keyCount);

    [LoggerMessage(3, LogLevel.Error, "{Method} {Path} failed")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(4, LogLevel.Debug, "{Method} {Path}: the client went away")]
    public static partial void ClientGone(ILogger logger, string method, string path);
}
