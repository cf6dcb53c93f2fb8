namespace ChatCluster.Bench;

/// <summary>
/// Peak resident memory of a process over one level: the kernel's high-water mark (VmHWM), reset before the
/// level by writing 5 to /proc/PID/clear_refs. Linux only; NaN where it cannot be read.
/// </summary>
internal static class ProcessMemory
{
    public static void ResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The figure stays the process's peak since start.
        }
    }

    public static double PeakMb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? double.NaN : long.Parse(line[6..].Trim().Split(' ')[0]) / 1024.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return double.NaN;
        }
    }
}
