using ChatCluster.Silo.Redis;

namespace ChatCluster.Tests.Redis;

public sealed class RedisEndpointTests
{
    [Theory]
    [InlineData("localhost:6379", "localhost", 6379)]
    [InlineData("10.0.0.5:1", "10.0.0.5", 1)]
    [InlineData("[::1]:65535", "::1", 65535)]
    public void Parses_host_and_port(string text, string host, int port)
    {
        RedisEndpoint endpoint = RedisEndpoint.Parse(text);

        Assert.Equal(new RedisEndpoint(host, port), endpoint);
        Assert.Equal(text, endpoint.ToString());
    }

    [Theory]
    [InlineData("", "expected HOST:PORT")]
    [InlineData("localhost", "expected HOST:PORT")]
    [InlineData("localhost:", "expected HOST:PORT")]
    [InlineData(":6379", "expected HOST:PORT")]
    [InlineData("localhost:0", "from 1 to 65535")]
    [InlineData("localhost:65536", "from 1 to 65535")]
    [InlineData("localhost:-1", "from 1 to 65535")]
    [InlineData("localhost:63 79", "from 1 to 65535")]
    [InlineData("::1:6379", "in brackets")]
    [InlineData("my host:6379", "spaces")]
    public void Rejects_malformed_endpoints_saying_why(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => RedisEndpoint.Parse(text));

        Assert.Contains($"'{text}' is not a Redis endpoint", error.Message);
        Assert.Contains(reason, error.Message);
    }
}
