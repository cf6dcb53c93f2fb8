using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Limits;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace ChatCluster.Gateway.Security;

/// <summary>
/// Settles who calls an API endpoint (the key in <c>Authorization: Bearer KEY</c>, or anyone when no keys
/// are configured), then charges the request to that caller's rate limit. Runs after CORS, so a browser's
/// preflight is answered without a key.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyStore keys, ClientLimits limits)
{
    private const string BearerPrefix = "Bearer ";

    public Task InvokeAsync(HttpContext context)
    {
        var caller = Identify(context);
        limits.AcquireRequest(caller.LimitKey);
        context.Features.Set(caller);
        return next(context);
    }

    private CallerIdentity Identify(HttpContext context)
    {
        if (keys.IsOpen)
        {
            return new CallerIdentity(ApiKeyStore.OpenOwner, LimitKey: null);
        }

        string? authorization = context.Request.Headers[HeaderNames.Authorization];
        if (string.IsNullOrEmpty(authorization))
        {
            throw new ApiException(ApiError.Unauthorized(
                "You didn't provide an API key. Send it in the Authorization header: 'Authorization: Bearer YOUR_KEY'."));
        }

        if (!authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiException(ApiError.Unauthorized(
                "The Authorization header must use the Bearer scheme: 'Authorization: Bearer YOUR_KEY'."));
        }

        var owner = keys.FindOwner(authorization[BearerPrefix.Length..].Trim())
            ?? throw new ApiException(ApiError.Unauthorized("Incorrect API key provided."));
        return new CallerIdentity(owner, owner);
    }
}
