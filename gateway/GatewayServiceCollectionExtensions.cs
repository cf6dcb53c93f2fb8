using ChatCluster.Gateway.Http;
using ChatCluster.Gateway.Limits;
using ChatCluster.Gateway.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace ChatCluster.Gateway;

/// <summary>Registers the gateway's services; the host supplies the <see cref="Grains.IGrainFactory"/> it calls.</summary>
public static class GatewayServiceCollectionExtensions
{
    internal const string CorsPolicy = "ChatCluster.Gateway";

    /// <summary>Registers the gateway. A keys file that cannot be read fails here, at start-up, not on the first request.</summary>
    public static IServiceCollection AddChatGateway(this IServiceCollection services, GatewayOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(ApiKeyStore.FromOptions(options));
        services.AddSingleton<ClientLimits>();
        services.AddSingleton<GenerationResponder>();
        if (options.AllowedOrigins.Count > 0)
        {
            services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy => policy
                .WithOrigins([.. options.AllowedOrigins])
                .AllowAnyHeader()
                .AllowAnyMethod()
                .WithExposedHeaders(HeaderNames.RetryAfter)));
        }

        return services;
    }
}
