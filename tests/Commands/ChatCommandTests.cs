using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Silo.Commands;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Commands;

public sealed class ChatCommandTests
{
    [Fact]
    public async Task A_terminal_chat_streams_replies_keeps_the_history_and_quits_on_an_empty_line()
    {
        using var engine = InferenceEngine.Load(TestPaths.TinyModel, ExecutionDevice.Cpu);
        var output = new StringWriter();
        var sampling = new SamplingParameters { Temperature = 0, MaxTokens = 8 };
        await ChatCommand.RunAsync(engine, "Be brief.", sampling, new StringReader("What does cat mean?\nAnd dog?\n\nnever read\n"), output, CancellationToken.None);

        var text = output.ToString();
        Assert.StartsWith($"{engine.Info.Id} ({engine.Info.ContextWindow} tokens of context)", text);

        // Three prompts: two turns answered, then the empty line quits before the last line is read.
        Assert.Equal(3, text.Split("> ").Length - 1);

        // Each reply is what the engine gives for the same history, greedy.
        var first = await ReplyAsync(engine, sampling, new("system", "Be brief."), new("user", "What does cat mean?"));
        Assert.Contains("> " + first, text);
    }

    [Fact]
    public async Task Serving_on_cuda_without_the_provider_fails_with_a_clear_message()
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ChatCluster.Silo.dll"));
        foreach (var a in new[] { "--model", TestPaths.TinyModel, "--device", "cuda", "--urls", "http://127.0.0.1:0" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("--device cuda needs ONNX Runtime's CUDA provider", error);
        Assert.DoesNotContain("   at ", error);
    }

    private static async Task<string> ReplyAsync(InferenceEngine engine, SamplingParameters sampling, params ChatMessage[] messages)
    {
        var reply = "";
        await foreach (var d in engine.ChatAsync(new ChatRequest { Messages = messages, Sampling = sampling, TruncateOldest = true }))
        {
            reply += d.Text;
        }

        return reply;
    }
}
