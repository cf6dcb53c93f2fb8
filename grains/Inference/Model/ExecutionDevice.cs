using Microsoft.ML.OnnxRuntime;

namespace ChatCluster.Inference.Model;

/// <summary>
/// Where a model runs: the CPU (the ONNX Runtime build restored by the build), or a CUDA GPU through the CUDA
/// execution provider loaded as a plugin library (the restored core library is a CPU build, so the provider
/// cannot be appended the classic way; see README "GPU").
/// </summary>
public sealed record ExecutionDevice(string Name, string? CudaProviderPath)
{
    /// <summary>Environment variable naming libonnxruntime_providers_cuda.so when it is not next to the program.</summary>
    public const string CudaProviderVariable = "CHATCLUSTER_ORT_CUDA_PROVIDER";

    private static readonly Lock RegistrationLock = new();
    private static bool _cudaRegistered;

    public static ExecutionDevice Cpu { get; } = new("cpu", null);

    /// <summary>Parses the --device option: "cpu" or "cuda".</summary>
    public static ExecutionDevice Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "cpu" => Cpu,
        "cuda" or "gpu" => new ExecutionDevice("cuda", Environment.GetEnvironmentVariable(CudaProviderVariable)
            ?? Path.Combine(AppContext.BaseDirectory, "libonnxruntime_providers_cuda.so")),
        _ => throw new ArgumentException($"Unknown device '{name}': expected cpu or cuda."),
    };

    internal SessionOptions CreateSessionOptions(int threads)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (threads > 0)
        {
            options.IntraOpNumThreads = threads;
        }

        if (CudaProviderPath is not null)
        {
            try
            {
                AppendCuda(options, CudaProviderPath);
            }
            catch
            {
                options.Dispose();
                throw;
            }
        }

        return options;
    }

    private static void AppendCuda(SessionOptions options, string providerPath)
    {
        if (!File.Exists(providerPath))
        {
            throw new InvalidOperationException(
                $"--device cuda needs ONNX Runtime's CUDA provider, and '{providerPath}' does not exist. Restore it with " +
                $"`dotnet build -p:OnnxRuntimeCuda=true` (npm com.github.asus4.onnxruntime.linux-x64-gpu) or point {CudaProviderVariable} at libonnxruntime_providers_cuda.so.");
        }

        var env = OrtEnv.Instance();
        lock (RegistrationLock)
        {
            if (!_cudaRegistered)
            {
                try
                {
                    env.RegisterExecutionProviderLibrary("CUDA", providerPath);
                }
                catch (OnnxRuntimeException e)
                {
                    throw new InvalidOperationException(
                        $"--device cuda: the CUDA provider could not be loaded ({e.Message}). It needs an NVIDIA driver, CUDA 13, cuBLAS 13 and cuDNN 9 on LD_LIBRARY_PATH.", e);
                }

                _cudaRegistered = true;
            }
        }

        var devices = env.GetEpDevices().Where(d => d.EpName == "CUDAExecutionProvider").ToList();
        if (devices.Count == 0)
        {
            throw new InvalidOperationException(
                "--device cuda: the CUDA provider loaded but found no GPU (check the NVIDIA driver, CUDA 13 and cuDNN 9 on LD_LIBRARY_PATH).");
        }

        options.AppendExecutionProvider(env, [devices[0]], new Dictionary<string, string>());
    }
}
