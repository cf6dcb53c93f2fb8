namespace ChatCluster.Bench;

internal static class MachineInfo
{
    /// <summary>The machine line every report carries: figures from different machines are not comparable.</summary>
    public static string Line => $"{Environment.ProcessorCount} cores{Cpu()}, {Environment.OSVersion}, .NET {Environment.Version}";

    private static string Cpu()
    {
        try
        {
            var name = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return name is null ? "" : $" ({name[(name.IndexOf(':') + 1)..].Trim()})";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
