using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ChatCluster.Gateway.Errors;
using ChatCluster.Grains;
using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.Conversations;

/// <summary>
/// The <c>Idempotency-Key</c> header of a turn (as Stripe and OpenAI's own SDKs send it: any client-chosen string),
/// with a digest of the request body it came with. A header rather than a message id in the body: a client that
/// retries a dropped connection resends the same request, and a header is what retrying HTTP clients already set.
/// </summary>
internal static class IdempotencyKey
{
    public const string Header = "Idempotency-Key";

    /// <summary>Longest key accepted; keys are stored with the turn.</summary>
    public const int MaxLength = 255;

    public static TurnKey? Of(HttpRequest request, JsonDocument? body)
    {
        if (!request.Headers.TryGetValue(Header, out var values))
        {
            return null;
        }

        var key = values.Count == 1 ? values[0] ?? "" : "";
        if (key.Length is 0 or > MaxLength || key.Any(c => c is < '!' or > '~'))
        {
            throw new ApiException(ApiError.Invalid(
                $"{Header} must be one value of 1 to {MaxLength} visible ASCII characters.", Header, "invalid_idempotency_key"));
        }

        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(body?.RootElement.GetRawText() ?? ""));
        return new TurnKey(key, Convert.ToHexString(digest));
    }
}
