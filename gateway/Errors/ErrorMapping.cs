using System.Text.Json;
using ChatCluster.Inference;
using Microsoft.AspNetCore.Http;
using Orleans.Runtime;
using Orleans.Storage;

namespace ChatCluster.Gateway.Errors;

/// <summary>
/// Turns what a request handler or a grain threw into the error the caller sees. Everything the caller got
/// wrong is a 4xx; a cluster or storage failure that outlasted the retries is a 503 with Retry-After; only a
/// fault of the server itself (an exception of no known kind) is a 500.
/// </summary>
public static class ErrorMapping
{
    /// <summary>Seconds a caller is asked to wait when the inference queue is full.</summary>
    public const int OverloadedRetryAfterSeconds = 1;

    /// <summary>Seconds a caller is asked to wait when a silo or Redis is unavailable.</summary>
    public const int UnavailableRetryAfterSeconds = 2;

    public static ApiError ToApiError(Exception exception) => exception switch
    {
        ApiException api => api.Error,
        PromptTooLongException tooLong => ApiError.Invalid(tooLong.Message, tooLong.Param, "context_length_exceeded"),
        InvalidRequestException invalid => ApiError.Invalid(invalid.Message, invalid.Param),
        NotFoundException notFound => ApiError.NotFound(notFound.Message),
        OverloadedException overloaded => ApiError.TooManyRequests(overloaded.Message, OverloadedRetryAfterSeconds),
        JsonException json => ApiError.Invalid($"The request body is not valid JSON: {json.Message}"),
        BadHttpRequestException bad when bad.StatusCode == StatusCodes.Status413PayloadTooLarge =>
            ApiError.TooLarge(bad.Message),
        BadHttpRequestException bad => new ApiError(bad.StatusCode, bad.Message, "invalid_request_error"),
        _ when IsTransient(exception) => ApiError.Unavailable(
            "The cluster could not reach the conversation's node or its storage in time; retry shortly.", UnavailableRetryAfterSeconds),
        _ => new ApiError(StatusCodes.Status500InternalServerError,
            "The server failed to handle the request; the failure is in its log.", "server_error"),
    };

    /// <summary>
    /// A failure of the cluster or its storage rather than of the request: a silo that died or was unreachable,
    /// a call that timed out, a streamed reply whose silo went away, a stale activation's write refused by its
    /// ETag, or Redis down. The same request may succeed a moment later.
    /// </summary>
    public static bool IsTransient(Exception exception)
    {
        // Storage failures arrive wrapped (Orleans' storage exception around the provider's around Redis's).
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException or TimeoutException
                or InconsistentStateException or EnumerationAbortedException
                // By namespace: the gateway has no reference to the Redis client; its exceptions cross silos by name.
                || e.GetType().Namespace == "StackExchange.Redis")
            {
                return true;
            }
        }

        return false;
    }
}
