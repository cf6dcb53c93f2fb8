using System.Diagnostics.CodeAnalysis;

namespace ChatCluster.Grains.Inference;

/// <summary>
/// An engine's grain key: <c>"&lt;silo address&gt;/&lt;device&gt;"</c>, e.g. <c>"10.0.0.7:11111@123456789/cuda:1"</c>.
/// The address carries the silo's generation, so a restarted silo's engines are new grains with empty caches,
/// and nothing routes to a dead silo's engines by an old key.
/// </summary>
public static class EngineKey
{
    public static string Of(SiloAddress silo, string device) => $"{silo.ToParsableString()}/{device}";

    public static bool TryParse(string key, [NotNullWhen(true)] out SiloAddress? silo, [NotNullWhen(true)] out string? device)
    {
        (silo, device) = (null, null);
        var slash = key.LastIndexOf('/');
        if (slash <= 0 || slash == key.Length - 1)
        {
            return false;
        }

        try
        {
            silo = SiloAddress.FromParsableString(key[..slash]);
        }
        catch (FormatException)
        {
            return false;
        }

        device = key[(slash + 1)..];
        return true;
    }
}
