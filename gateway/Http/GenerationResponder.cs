using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Limits;
using ChatCluster.Gateway.Security;
using ChatCluster.Inference;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// What every generating endpoint does around its own output format: hold one of the caller's stream slots,
/// start the generations with the request's abort token (a client that disconnects cancels them, which frees
/// their batch slots), and report a failure as an HTTP error before the first byte or as an error event after.
/// </summary>
internal sealed class GenerationResponder(ClientLimits limits, ILogger<GenerationResponder> logger)
{
    public delegate Task StreamWriter(ServerSentEventWriter events, ChoiceMerger choices, CancellationToken cancellationToken);

    public delegate Task ObjectWriter(HttpResponse response, ChoiceMerger choices, CancellationToken cancellationToken);

    public async Task RespondAsync(
        HttpContext context,
        int choices,
        Func<int, CancellationToken, IAsyncEnumerable<ChatDelta>> generate,
        bool stream,
        StreamWriter writeStream,
        ObjectWriter writeObject)
    {
        var aborted = context.RequestAborted;
        using var slot = limits.AcquireStream(CallerIdentity.Of(context).LimitKey);
        await using var merged = await ChoiceMerger.StartAsync(choices, generate, aborted);
        if (!stream)
        {
            await writeObject(context.Response, merged, aborted);
            return;
        }

        using var events = ServerSentEventWriter.Start(context.Response);
        try
        {
            await writeStream(events, merged, aborted);
        }
        catch (Exception exception) when (!aborted.IsCancellationRequested)
        {
            var error = ErrorMapping.ToApiError(exception);
            GatewayTelemetry.Rejected(error);
            if (error.Status >= StatusCodes.Status500InternalServerError)
            {
                GatewayLog.RequestFailed(logger, exception, context.Request.Method, context.Request.Path);
            }

            await events.WriteErrorAsync(error, aborted);
        }
    }
}
