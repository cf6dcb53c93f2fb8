using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Gateway;

/// <summary>The real silo with two API keys, a small per-key rate limit and one stream per key at a time.</summary>
public sealed class KeyedServerFixture : ServerFixture
{
    public const string Alpha = "sk-test-alpha-0001";
    public const string Beta = "sk-test-beta-0002";
    public const string Limited = "sk-test-limited-0003";
    public const int RequestsPerMinute = 30;

    protected override string[] Arguments =>
    [
        "--api-key", Alpha, "--api-key", Beta, "--api-key", Limited,
        "--requests-per-minute", RequestsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--max-streams-per-key", "1",
    ];

    protected override string? StartupKey => Alpha;
}
