using System.Runtime.InteropServices;

namespace ChatCluster.Inference.Model;

/// <summary>
/// ONNX Runtime's native library sends Microsoft telemetry on Linux by default (a device id and an event
/// database under ~/.cache/Microsoft/DeveloperTools/.onnxruntime, lookups of an events host). The native code
/// reads <c>ORT_DISABLE_TELEMETRY</c> from the C environment when it first starts, and .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach that environment, so this sets
/// it with libc's setenv before the first ONNX Runtime call. An operator who sets the variable to 0 (or
/// anything) keeps their choice.
/// </summary>
internal static partial class OnnxRuntimeTelemetry
{
    public const string Variable = "ORT_DISABLE_TELEMETRY";

    private static int _done;

    public static void DisableUnlessAsked()
    {
        if (Interlocked.Exchange(ref _done, 1) == 1 || Environment.GetEnvironmentVariable(Variable) is not null || !OperatingSystem.IsLinux())
        {
            return;
        }

        if (SetEnvironment(Variable, "1", overwrite: 0) != 0)
        {
            throw new InvalidOperationException($"Could not set {Variable}=1 for ONNX Runtime (setenv failed).");
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);
}
