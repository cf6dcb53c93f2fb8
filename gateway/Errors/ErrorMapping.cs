using System.Text.Json;
using ChatCluster.Grains;
using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.Errors;

/// <summary>
/// Turns what a request handler or a grain threw into the error the caller sees. Everything the caller got
/// wrong is a 4xx; only a fault of the server itself (an exception of no known kind) is a 500.
/// </summary>
public static class ErrorMapping
{
    /// <summary>Seconds a caller is asked to wait when the inference queue is full.</summary>
    public const int OverloadedRetryAfterSeconds = 1;

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
        _ => new ApiError(StatusCodes.Status500InternalServerError,
            "The server failed to handle the request; the failure is in its log.", "server_error"),
    };
}
