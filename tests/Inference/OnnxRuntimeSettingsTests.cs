using System.Runtime.InteropServices;
using ChatCluster.Inference.Model;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Inference;

/// <summary>
/// Settings ONNX Runtime's native code reads with getenv, which .NET's own environment calls do not reach on Linux:
/// the engine must have put them in the C environment by the time a session exists.
/// </summary>
public sealed class OnnxRuntimeSettingsTests
{
    [Fact]
    public void A_loaded_model_runs_with_the_plain_group_query_attention_path_unless_the_operator_chose()
    {
        using var model = DecoderModel.Load(TestPaths.BundledModel, ExecutionDevice.Cpu);
        var expected = Environment.GetEnvironmentVariable(ExecutionDevice.GqaFlashVariable) ?? "1";
        Assert.Equal(expected, NativeVariable(ExecutionDevice.GqaFlashVariable));
        Assert.Equal(Environment.GetEnvironmentVariable(OnnxRuntimeTelemetry.Variable) ?? "1", NativeVariable(OnnxRuntimeTelemetry.Variable));
    }

    private static string? NativeVariable(string name) => Marshal.PtrToStringUTF8(GetEnvironment(name));

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnvironment([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
}
