using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.Security;

/// <summary>Who is calling, as settled by <see cref="ApiKeyMiddleware"/>; stored on the request's features.</summary>
/// <param name="Owner">The owner id conversations are stored under (<see cref="ApiKeyStore.OpenOwner"/> when open).</param>
/// <param name="LimitKey">
/// The partition rate and stream limits count against: the owner id; null on an open server, which is for
/// local use (a benchmark or a single user's machine) and so is not limited.
/// </param>
public sealed record CallerIdentity(string Owner, string? LimitKey)
{
    public static CallerIdentity Of(HttpContext context) =>
        context.Features.Get<CallerIdentity>()
        ?? throw new InvalidOperationException("The API key middleware has not run for this request.");
}
