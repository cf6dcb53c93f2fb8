namespace ChatCluster.Gateway.Errors;

/// <summary>Thrown by request parsing and checks; carries the exact error to send.</summary>
public sealed class ApiException(ApiError error) : Exception(error.Message)
{
    public ApiError Error { get; } = error;
}
