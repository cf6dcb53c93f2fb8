using Microsoft.ML.OnnxRuntime;

namespace ChatCluster.Inference.Model;

/// <summary>
/// Where a model runs: the CPU, or a CUDA GPU through ONNX Runtime's CUDA execution provider. The CPU build of
/// ONNX Runtime (the default package) has no CUDA provider; <c>dotnet build -p:OnnxRuntimeGpu=true</c> builds
/// against Microsoft.ML.OnnxRuntime.Gpu.Linux instead, which runs both.
/// </summary>
/// <param name="Name">As --device names it: <c>cpu</c>, or <c>cuda:N</c> for GPU N.</param>
/// <param name="CudaDeviceId">The GPU's index for CUDA; unused on the CPU.</param>
public sealed record ExecutionDevice(string Name, int CudaDeviceId = 0)
{
    public static ExecutionDevice Cpu { get; } = new("cpu");

    public static ExecutionDevice Cuda { get; } = new("cuda:0");

    public bool IsCuda => Name.StartsWith("cuda", StringComparison.Ordinal);

    /// <summary>Parses one device of the --device option: "cpu", or "cuda" / "cuda:N" (GPU N; "cuda" is GPU 0).</summary>
    public static ExecutionDevice Parse(string name)
    {
        var device = name.Trim().ToLowerInvariant();
        if (device == "cpu")
        {
            return Cpu;
        }

        if (device is "cuda" or "gpu")
        {
            return Cuda;
        }

        if (device.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(device.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            return new ExecutionDevice($"cuda:{id}", id);
        }

        throw new ArgumentException($"Unknown device '{name}': expected cpu, cuda or cuda:N.");
    }

    /// <summary>The ONNX Runtime variable that turns its CPU GroupQueryAttention flash path off (1) or on (0).</summary>
    internal const string GqaFlashVariable = "ORT_GQA_DISABLE_FLASH_ATTENTION";

    internal SessionOptions CreateSessionOptions(int threads, bool allowSpinning = false)
    {
        OnnxRuntimeTelemetry.DisableUnlessAsked();

        // ONNX Runtime's CPU GroupQueryAttention has a flash-attention path that, when the rows of a batch hold
        // different lengths (continuous batching always has them), runs one threaded call per row instead of one
        // for the batch. The plain path has no such cost: on the bundled model at batch 16 on a quiet machine, a
        // decode call over rows of unequal lengths took 1.41-1.43x one over equal lengths with flash, 1.02x without;
        // equal lengths and a 128-token prompt cost the same either way (bench lengths, bench/results/fused/lengths.md).
        // Read when a session creates its kernels; an operator who sets the variable keeps their choice.
        NativeEnvironment.SetDefault(GqaFlashVariable, "1");
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (threads > 0)
        {
            options.IntraOpNumThreads = threads;
        }

        // ONNX Runtime's intra-op workers spin between parallel sections by default. Between steps (sampling,
        // streaming, the HTTP side, other processes on the cores) a spinning worker takes a core from the work
        // that must run next: off, measured faster on the shared 2-core machine (README, "Benchmark").
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", allowSpinning ? "1" : "0");

        if (IsCuda)
        {
            try
            {
                AppendCuda(options, CudaDeviceId);
            }
            catch
            {
                options.Dispose();
                throw;
            }
        }

        return options;
    }

    private static void AppendCuda(SessionOptions options, int deviceId)
    {
        try
        {
            // The options overload reports the real cause (a missing CUDA library) in its message.
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(new Dictionary<string, string> { ["device_id"] = deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            options.AppendExecutionProvider_CUDA(cuda);
        }
        catch (Exception e) when (e is EntryPointNotFoundException || e.Message.Contains("not enabled in this build", StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                "--device cuda needs ONNX Runtime's CUDA provider, and this build has the CPU-only ONNX Runtime. " +
                "Build with `dotnet build -c Release -p:OnnxRuntimeGpu=true` (Microsoft.ML.OnnxRuntime.Gpu.Linux).", e);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException(
                $"--device cuda: the CUDA provider could not be loaded ({e.Message}). It needs an NVIDIA driver, CUDA 13 " +
                "(cudart, cuBLAS) and cuDNN 9 on LD_LIBRARY_PATH.", e);
        }
    }
}
