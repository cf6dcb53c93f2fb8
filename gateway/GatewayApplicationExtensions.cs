using ChatCluster.Gateway.Conversations;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;
using ChatCluster.Gateway.OpenAi;
using ChatCluster.Gateway.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatCluster.Gateway;

/// <summary>Adds the gateway's middleware and routes to a web application built with <see cref="GatewayServiceCollectionExtensions.AddChatGateway"/>.</summary>
public static class GatewayApplicationExtensions
{
    /// <summary>
    /// Maps /v1 (OpenAI API and conversations, behind CORS, API keys and limits) and the chat page at /.
    /// Call it before the host maps its own routes such as /healthz, which stay outside /v1 and need no key.
    /// </summary>
    public static WebApplication MapChatGateway(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<GatewayOptions>();
        var keys = app.Services.GetRequiredService<ApiKeyStore>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ChatCluster.Gateway");
        if (keys.IsOpen)
        {
            GatewayLog.OpenAccess(logger);
        }
        else
        {
            GatewayLog.KeysRequired(logger, keys.Count);
        }

        // CORS first: a browser's preflight carries no key, and is answered here before the key check.
        if (options.AllowedOrigins.Count > 0)
        {
            app.UseCors(GatewayServiceCollectionExtensions.CorsPolicy);
        }

        app.UseWhen(static context => context.Request.Path.StartsWithSegments("/v1"), static api =>
        {
            api.UseMiddleware<ApiErrorMiddleware>();
            api.UseMiddleware<ApiKeyMiddleware>();
        });
        app.UseKeyProtectedPaths();
        var v1 = app.MapGroup("/v1");
        OpenAiEndpoints.Map(v1);
        ConversationEndpoints.Map(v1);

        // Anything else under /v1 (wrong path or wrong method) gets OpenAI's error body rather than an empty 404.
        v1.Map("{**path}", static context => throw new ApiException(ApiError.NotFound(
            $"Unknown endpoint: {context.Request.Method} {context.Request.Path}.")));
        EmbeddedFiles.Map(app);
        return app;
    }

    /// <summary>
    /// With keys configured, requires one on the host's own <see cref="GatewayOptions.KeyProtectedPaths"/>
    /// (/metrics, /dashboard). <see cref="MapChatGateway"/> calls it; a node without the API (an inference silo)
    /// calls it alone, after registering the gateway's services for their key store.
    /// </summary>
    public static WebApplication UseKeyProtectedPaths(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<GatewayOptions>();
        if (!app.Services.GetRequiredService<ApiKeyStore>().IsOpen && options.KeyProtectedPaths.Count > 0)
        {
            var protectedPaths = options.KeyProtectedPaths.Select(static p => new PathString(p)).ToArray();
            app.UseWhen(context => protectedPaths.Any(p => context.Request.Path.StartsWithSegments(p)), static operator_ =>
            {
                operator_.UseMiddleware<ApiErrorMiddleware>();
                operator_.UseMiddleware<ApiKeyMiddleware>();
            });
        }

        return app;
    }
}
