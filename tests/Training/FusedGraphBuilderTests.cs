using ChatCluster.Inference.Model;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Training;

/// <summary>
/// training/fused_graph.py (onnx + numpy, no torch): it rebuilds the committed model.fused.onnx of the bundled
/// model and of tiny-llama byte for byte from their model.onnx, and its quantized graphs load as shared-buffer graphs.
/// </summary>
public sealed class FusedGraphBuilderTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("fused-graph-").FullName;

    [Theory]
    [InlineData("models/chatcluster-tiny")]
    [InlineData("tests/data/tiny-llama")]
    public void The_builder_reproduces_the_committed_fused_graph(string folder)
    {
        var model = Path.Combine(TestPaths.RepositoryRoot, folder);
        var rebuilt = Path.Combine(_out, "model.fused.onnx");
        PythonScript.Run(TimeSpan.FromMinutes(2), "training/fused_graph.py", model, "--out", rebuilt);
        Assert.Equal(File.ReadAllBytes(Path.Combine(model, "model.fused.onnx")), File.ReadAllBytes(rebuilt));
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("int4")]
    public void A_quantized_graph_loads_with_the_same_cache_geometry(string bits)
    {
        // A model folder of links, so the quantized graph sits beside the config it is loaded with.
        foreach (var file in Directory.EnumerateFiles(TestPaths.BundledModel, "*.json"))
        {
            File.CreateSymbolicLink(Path.Combine(_out, Path.GetFileName(file)), file);
        }

        File.CreateSymbolicLink(Path.Combine(_out, "model.onnx"), Path.Combine(TestPaths.BundledModel, "model.onnx"));
        PythonScript.Run(TimeSpan.FromMinutes(2), "training/fused_graph.py", _out, "--quantize", bits);
        using var quantized = DecoderModel.Load(_out, ExecutionDevice.Cpu, graph: $"model.fused.{bits}.onnx");
        using var optimum = DecoderModel.Load(TestPaths.BundledModel, ExecutionDevice.Cpu, graph: DecoderModel.OptimumGraph);
        Assert.True(quantized.SharesKvBuffer);
        Assert.Equal(optimum.KvShape, quantized.KvShape);
    }

    public void Dispose() => Directory.Delete(_out, recursive: true);
}
