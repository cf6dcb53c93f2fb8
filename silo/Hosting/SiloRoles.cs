namespace ChatCluster.Silo.Hosting;

/// <summary>What a silo hosts (<c>--role</c>).</summary>
public enum SiloRole
{
    /// <summary>Everything: gateway, conversations and engines (one node, one command).</summary>
    All,

    /// <summary>The HTTP gateway and conversation grains; no model, no ONNX Runtime library, no inference grain.</summary>
    Front,

    /// <summary>Engines only (one inference grain per device), plus /healthz, /metrics and /dashboard.</summary>
    Inference,
}

/// <summary>Roles and devices, and how a silo advertises them to the cluster (silo metadata, fixed for the silo's life).</summary>
public static class SiloRoles
{
    /// <summary>Silo metadata key: the silo's role (all, front, inference).</summary>
    public const string RoleKey = "chatcluster.role";

    /// <summary>Silo metadata key: the devices of its engines, comma-separated (absent on a front silo).</summary>
    public const string DevicesKey = "chatcluster.devices";

    public static bool HostsEngines(this SiloRole role) => role != SiloRole.Front;

    public static bool HostsGateway(this SiloRole role) => role != SiloRole.Inference;

    public static string Name(this SiloRole role) => role.ToString().ToLowerInvariant();

    public static SiloRole Parse(string value) => value.Trim().ToLowerInvariant() switch
    {
        "all" => SiloRole.All,
        "front" => SiloRole.Front,
        "inference" => SiloRole.Inference,
        _ => throw new ArgumentException($"--role '{value}' is not a role: expected all, front or inference."),
    };

    /// <summary>The --device list (<c>cpu</c>, or <c>cuda:0,cuda:1</c>): names as given, trimmed; none may repeat.</summary>
    public static IReadOnlyList<string> ParseDevices(string list)
    {
        var devices = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (devices.Length == 0)
        {
            throw new ArgumentException("--device names no device: expected cpu, cuda, or a list such as cuda:0,cuda:1.");
        }

        if (devices.Distinct(StringComparer.OrdinalIgnoreCase).Count() != devices.Length)
        {
            throw new ArgumentException($"--device '{list}' names a device twice: one engine per device.");
        }

        return devices;
    }
}
