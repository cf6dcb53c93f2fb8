using Microsoft.ML.OnnxRuntime;

namespace ChatCluster.Inference.Model;

/// <summary>
/// Where a model runs: the CPU, or a CUDA GPU through ONNX Runtime's CUDA execution provider. The CPU build of
/// ONNX Runtime (the default package) has no CUDA provider; <c>dotnet build -p:OnnxRuntimeGpu=true</c> builds
/// against Microsoft.ML.OnnxRuntime.Gpu.Linux instead, which runs both.
/// </summary>
public sealed record ExecutionDevice(string Name)
{
    public static ExecutionDevice Cpu { get; } = new("cpu");

    public static ExecutionDevice Cuda { get; } = new("cuda");

    /// <summary>Parses the --device option: "cpu" or "cuda".</summary>
    public static ExecutionDevice Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "cpu" => Cpu,
        "cuda" or "gpu" => Cuda,
        _ => throw new ArgumentException($"Unknown device '{name}': expected cpu or cuda."),
    };

    internal SessionOptions CreateSessionOptions(int threads, bool allowSpinning = false)
    {
        OnnxRuntimeTelemetry.DisableUnlessAsked();
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

        if (this == Cuda)
        {
            try
            {
                AppendCuda(options);
            }
            catch
            {
                options.Dispose();
                throw;
            }
        }

        return options;
    }

    private static void AppendCuda(SessionOptions options)
    {
        try
        {
            // The options overload reports the real cause (a missing CUDA library) in its message.
            using var cuda = new OrtCUDAProviderOptions();
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
