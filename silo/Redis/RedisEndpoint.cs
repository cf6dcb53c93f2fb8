using System.Globalization;

namespace ChatCluster.Silo.Redis;

/// <summary>Where the Redis server listens: a host name or IP address and a TCP port.</summary>
public readonly record struct RedisEndpoint(string Host, int Port)
{
    /// <summary>
    /// Parses "host:port", "1.2.3.4:port" or "[::1]:port" (the form <c>--redis</c> takes).
    /// </summary>
    /// <exception cref="FormatException">The text is not of that form, with a port from 1 to 65535.</exception>
    public static RedisEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw Invalid(text, "expected HOST:PORT");
        }

        string host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':'))
        {
            throw Invalid(text, "an IPv6 address must be written in brackets, as [::1]:6379");
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
        {
            throw Invalid(text, "the host is empty or contains spaces");
        }

        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            || port is < 1 or > 65535)
        {
            throw Invalid(text, "the port must be a number from 1 to 65535");
        }

        return new RedisEndpoint(host, port);
    }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    private static FormatException Invalid(string text, string why) =>
        new($"'{text}' is not a Redis endpoint: {why} (for example localhost:6379).");
}
