using System.Runtime.InteropServices;

namespace ChatCluster.Inference.Model;

/// <summary>
/// Variables ONNX Runtime's native code reads with getenv. On Linux, .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> changes only the managed copy of the
/// environment, which native code never sees, so these go through libc's setenv.
/// </summary>
internal static partial class NativeEnvironment
{
    /// <summary>
    /// Sets <paramref name="name"/> for native code unless the process was started with it (an operator's choice
    /// stands) or native code already has it.
    /// </summary>
    public static void SetDefault(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is null)
        {
            Set(name, value, overwrite: false);
        }
    }

    /// <summary>Sets <paramref name="name"/> for native code (and the managed copy, elsewhere than Linux).</summary>
    public static void Set(string name, string value, bool overwrite)
    {
        if (!OperatingSystem.IsLinux())
        {
            if (overwrite || Environment.GetEnvironmentVariable(name) is null)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            return;
        }

        if (SetEnvironment(name, value, overwrite ? 1 : 0) != 0)
        {
            throw new InvalidOperationException($"Could not set {name}={value} for ONNX Runtime (setenv failed).");
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);
}
