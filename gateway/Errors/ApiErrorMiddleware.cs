using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatCluster.Gateway.Errors;

/// <summary>
/// The last word on every API request: whatever escapes a handler becomes OpenAI's error body with the
/// mapped status, unless the client has gone (nothing to send) or the response has already started (the
/// stream writer reports those itself).
/// </summary>
internal sealed class ApiErrorMiddleware(RequestDelegate next, ILogger<ApiErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            GatewayLog.ClientGone(logger, context.Request.Method, context.Request.Path);
        }
        catch (Exception exception)
        {
            var error = ErrorMapping.ToApiError(exception);
            GatewayTelemetry.Rejected(error);
            if (error.Status >= StatusCodes.Status500InternalServerError)
            {
                GatewayLog.RequestFailed(logger, exception, context.Request.Method, context.Request.Path);
            }

            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }

            context.Response.Clear();
            await ErrorBodyWriter.WriteResponseAsync(context, error);
        }
    }
}
