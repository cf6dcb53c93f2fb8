namespace ChatCluster.Bench;

internal static class MachineInfo
{
    /// <summary>The machine line every report carries: figures from different machines are not comparable.</summary>
    public static string Line => $"{Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}";
}
