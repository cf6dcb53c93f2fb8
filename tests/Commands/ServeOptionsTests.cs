using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Silo;
using ChatCluster.Silo.Commands;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Commands;

/// <summary>The engines' thread settings: from serve's command line to a running engine.</summary>
public sealed class ServeOptionsTests
{
    [Fact]
    public void Threads_and_spinning_are_read_from_the_command_line_and_default_to_one_per_core_without_spinning()
    {
        var defaults = ServeCommand.Parse([]);
        Assert.Equal(0, defaults.Threads);
        Assert.False(defaults.IntraOpSpinning);

        var dedicated = ServeCommand.Parse(["--threads", "3", "--intra-op-spinning", "on"]);
        Assert.Equal(3, dedicated.Threads);
        Assert.True(dedicated.IntraOpSpinning);

        var error = Assert.Throws<ArgumentException>(() => ServeCommand.Parse(["--intra-op-spinning", "yes"]));
        Assert.Contains("--intra-op-spinning 'yes' must be on or off", error.Message);
    }

    [Fact]
    public async Task A_negative_thread_count_is_refused_before_the_node_starts()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => SiloHost.CreateAppAsync(["--threads", "-1", "--urls", "http://127.0.0.1:0"]));
        Assert.Contains("--threads must be 0", error.Message);
    }

    [Fact]
    public async Task An_engine_with_one_spinning_thread_answers_as_the_default_engine_does()
    {
        using var standard = InferenceEngine.Load(TestPaths.TinyModel, ExecutionDevice.Cpu);
        using var spinning = InferenceEngine.Load(TestPaths.TinyModel, ExecutionDevice.Cpu, new SchedulerOptions { Threads = 1, AllowSpinning = true });
        var request = new ChatRequest
        {
            Messages = [new("user", "What does cat mean?")],
            Sampling = new SamplingParameters { Temperature = 0, MaxTokens = 24 },
        };

        var expected = await ReplyAsync(standard, request);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, await ReplyAsync(spinning, request));
    }

    private static async Task<string> ReplyAsync(InferenceEngine engine, ChatRequest request)
    {
        var reply = "";
        await foreach (var d in engine.ChatAsync(request))
        {
            reply += d.Text;
        }

        return reply;
    }
}
