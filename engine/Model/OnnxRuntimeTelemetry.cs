namespace ChatCluster.Inference.Model;

/// <summary>
/// ONNX Runtime's native library sends Microsoft telemetry on Linux by default (a device id and an event
/// database under ~/.cache/Microsoft/DeveloperTools/.onnxruntime, lookups of an events host). The native code
/// reads <c>ORT_DISABLE_TELEMETRY</c> from the C environment when it first starts, so this sets it before the
/// first ONNX Runtime call. An operator who sets the variable to 0 (or anything) keeps their choice.
/// </summary>
internal static class OnnxRuntimeTelemetry
{
    public const string Variable = "ORT_DISABLE_TELEMETRY";

    private static int _done;

    public static void DisableUnlessAsked()
    {
        if (Interlocked.Exchange(ref _done, 1) == 1 || !OperatingSystem.IsLinux())
        {
            return;
        }

        NativeEnvironment.SetDefault(Variable, "1");
    }
}
