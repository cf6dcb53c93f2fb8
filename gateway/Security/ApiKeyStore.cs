using System.Security.Cryptography;
using System.Text;

namespace ChatCluster.Gateway.Security;

/// <summary>
/// The accepted API keys. Only their SHA-256 digests are kept: a presented key is hashed and looked up, so
/// the lookup takes the same time however much of a wrong key matches. A key's owner id (what conversations
/// are stored under, and what logs and limits see) is a prefix of that digest, never the key itself.
/// </summary>
public sealed class ApiKeyStore
{
    /// <summary>The owner of everything made while no keys are configured.</summary>
    public const string OpenOwner = "";

    private const int OwnerIdHexChars = 32;

    private readonly Dictionary<string, string> _ownerByDigest = new(StringComparer.Ordinal);

    public ApiKeyStore(IEnumerable<string> keys)
    {
        foreach (var key in keys)
        {
            if (key.Length == 0 || key.Any(char.IsWhiteSpace))
            {
                throw new ArgumentException("An API key must be non-empty and hold no whitespace.", nameof(keys));
            }

            var digest = Digest(key);
            _ownerByDigest[digest] = digest[..OwnerIdHexChars];
        }
    }

    /// <summary>True when no keys are configured: every caller is served, as <see cref="OpenOwner"/>.</summary>
    public bool IsOpen => _ownerByDigest.Count == 0;

    public int Count => _ownerByDigest.Count;

    /// <summary>The keys of <paramref name="options"/>: those listed, then those of its keys file.</summary>
    public static ApiKeyStore FromOptions(GatewayOptions options)
    {
        var keys = new List<string>(options.ApiKeys);
        if (options.KeysFile is { } path)
        {
            keys.AddRange(ReadKeysFile(path));
        }

        return new ApiKeyStore(keys);
    }

    /// <summary>One key per line; blank lines and lines starting with # are skipped; surrounding spaces are trimmed.</summary>
    public static IEnumerable<string> ReadKeysFile(string path) =>
        File.ReadLines(path)
            .Select(static line => line.Trim())
            .Where(static line => line.Length > 0 && !line.StartsWith('#'));

    /// <summary>The owner id of <paramref name="key"/>, or null when it is not an accepted key.</summary>
    public string? FindOwner(string key) => _ownerByDigest.GetValueOrDefault(Digest(key));

    /// <summary>The owner id a key would have, for tests and tools that need to predict it.</summary>
    public static string OwnerIdOf(string key) => Digest(key)[..OwnerIdHexChars];

    private static string Digest(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
