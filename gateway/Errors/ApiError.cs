using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.Errors;

/// <summary>
/// An error as OpenAI reports it: the HTTP status and the body <c>{"error": {"message", "type", "param", "code"}}</c>.
/// The message names what was wrong so that a caller can fix the request without reading server logs.
/// </summary>
public sealed record ApiError(int Status, string Message, string Type, string? Param = null, string? Code = null)
{
    /// <summary>Seconds the caller should wait before retrying (sent as Retry-After); for 429 and 503.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiError Invalid(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    public static ApiError NotFound(string message, string? param = null, string code = "not_found") =>
        new(StatusCodes.Status404NotFound, message, "invalid_request_error", param, code);

    public static ApiError Unauthorized(string message) =>
        new(StatusCodes.Status401Unauthorized, message, "invalid_request_error", null, "invalid_api_key");

    public static ApiError TooLarge(string message) =>
        new(StatusCodes.Status413PayloadTooLarge, message, "invalid_request_error", null, "request_too_large");

    public static ApiError TooManyRequests(string message, int retryAfterSeconds) =>
        new(StatusCodes.Status429TooManyRequests, message, "rate_limit_error", null, "rate_limit_exceeded")
        {
            RetryAfterSeconds = retryAfterSeconds,
        };

    public static ApiError Unavailable(string message, int retryAfterSeconds) =>
        new(StatusCodes.Status503ServiceUnavailable, message, "server_error", null, "service_unavailable")
        {
            RetryAfterSeconds = retryAfterSeconds,
        };
}
