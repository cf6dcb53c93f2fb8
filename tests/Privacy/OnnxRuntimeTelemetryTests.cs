using System.Net.Http.Json;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Privacy;

/// <summary>
/// ONNX Runtime's native library keeps a device id and an event database under
/// ~/.cache/Microsoft/DeveloperTools/.onnxruntime and sends them to Microsoft unless ORT_DISABLE_TELEMETRY is
/// set when it starts. (Run by hand with ORT_DISABLE_TELEMETRY=0, the same silo writes deviceid and
/// onnxruntime.db there within seconds.) The server sets it itself, so a node that served chat leaves nothing.
/// </summary>
public sealed class OnnxRuntimeTelemetryTests
{
    [Fact]
    public async Task A_silo_that_served_chat_left_no_onnx_runtime_telemetry_under_a_fresh_home()
    {
        var home = Directory.CreateTempSubdirectory("chatcluster-home-");
        try
        {
            await using (var silo = await SiloProcess.StartAsync(new Dictionary<string, string> { ["HOME"] = home.FullName }, "--model", TestPaths.TinyModel))
            {
                using var reply = await silo.Client.PostAsJsonAsync("/v1/chat/completions", new
                {
                    model = "tiny-model",
                    messages = new[] { new { role = "user", content = "What does cat mean?" } },
                    max_tokens = 8,
                });
                Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
            }

            Assert.Empty(Directory.EnumerateFileSystemEntries(home.FullName, "*onnxruntime*", SearchOption.AllDirectories));
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }
}
