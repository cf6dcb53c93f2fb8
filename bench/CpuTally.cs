using System.Globalization;

namespace ChatCluster.Bench;

/// <summary>
/// CPU time of the processes a round involves and of the whole machine, read from /proc before and after the
/// round: cores busy = CPU seconds / wall seconds. On a shared machine this says where a round's CPU went
/// (client, serving silo, relaying silo) and how much was taken by others (machine minus ours).
/// </summary>
internal sealed class CpuTally(IReadOnlyList<int> processIds)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ: 100 on every Linux architecture .NET runs on

    /// <summary>CPU seconds of each process, then of the machine (all cores, idle and iowait left out).</summary>
    public double[] Read()
    {
        var seconds = processIds.Select(ProcessSeconds).ToList();
        seconds.Add(MachineSeconds());
        return [.. seconds];
    }

    /// <summary>Cores busy per process (and the machine, last) between two readings.</summary>
    public static double[] Cores(double[] before, double[] after, double wallSeconds) =>
        [.. before.Zip(after, (b, a) => Math.Round((a - b) / wallSeconds, 2))];

    private static double ProcessSeconds(int pid)
    {
        try
        {
            // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0; // not Linux, or the process has gone
        }
    }

    private static double MachineSeconds()
    {
        try
        {
            // "cpu  user nice system idle iowait irq softirq steal ..."
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..]
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            return (fields.Take(8).Sum() - fields[3] - fields[4]) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
