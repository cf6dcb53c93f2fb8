using System.Security.Cryptography;
using System.Text;

namespace ChatCluster.Gateway.Security;

/// <summary>
/// The accepted API keys. Only their SHA-256 digests are kept: a presented key is hashed, and its digest is
/// compared with every stored digest in constant time (no early exit, none of the comparisons short-circuits),
/// so neither the key nor its digest leaks through timing. A key's owner id (what conversations are stored
/// under, and what logs and limits see) is a prefix of that digest, never the key itself.
/// </summary>
public sealed class ApiKeyStore
{
    /// <summary>The owner of everything made while no keys are configured.</summary>
    public const string OpenOwner = "";

    private const int OwnerIdHexChars = 32;

    private readonly List<(byte[] Digest, string Owner)> _keys = [];

    public ApiKeyStore(IEnumerable<string> keys)
    {
        foreach (var key in keys)
        {
            if (key.Length == 0 || key.Any(char.IsWhiteSpace))
            {
                throw new ArgumentException("An API key must be non-empty and hold no whitespace.", nameof(keys));
            }

            var digest = Digest(key);
            if (!_keys.Any(k => k.Digest.AsSpan().SequenceEqual(digest)))
            {
                _keys.Add((digest, OwnerIdOf(digest)));
            }
        }
    }

    /// <summary>True when no keys are configured: every caller is served, as <see cref="OpenOwner"/>.</summary>
    public bool IsOpen => _keys.Count == 0;

    public int Count => _keys.Count;

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
    public string? FindOwner(string key)
    {
        var digest = Digest(key);
        string? owner = null;
        foreach (var (stored, storedOwner) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(stored, digest))
            {
                owner = storedOwner;
            }
        }

        return owner;
    }

    /// <summary>The owner id a key would have, for tests and tools that need to predict it.</summary>
    public static string OwnerIdOf(string key) => OwnerIdOf(Digest(key));

    private static string OwnerIdOf(byte[] digest) => Convert.ToHexStringLower(digest)[..OwnerIdHexChars];

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
