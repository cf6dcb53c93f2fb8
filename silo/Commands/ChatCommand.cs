using System.CommandLine;
using ChatCluster.Grains;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;

namespace ChatCluster.Silo.Commands;

/// <summary>
/// <c>chat [--model DIR]</c>: a conversation in the terminal, streamed token by token, with the model's chat
/// template applied and its KV cache kept between turns. /reset starts over; an empty line or end of input quits.
/// </summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder; the bundled model by default.", HelpName = "DIR" };
        var system = new Option<string>("--system") { Description = "A system prompt." };
        var temperature = new Option<float>("--temperature") { Description = "0 is greedy.", DefaultValueFactory = _ => 0.7f };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest reply.", DefaultValueFactory = _ => 200 };
        var command = new Command("chat", "Chat with the model in the terminal.");
        command.Options.Add(model);
        command.Options.Add(system);
        command.Options.Add(temperature);
        command.Options.Add(maxTokens);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var directory = parseResult.GetValue(model) is { } m ? Path.GetFullPath(m) : SiloOptions.DefaultModel;
            using var engine = InferenceEngine.Load(directory, ExecutionDevice.Cpu);
            var sampling = new SamplingParameters { Temperature = parseResult.GetValue(temperature), MaxTokens = parseResult.GetValue(maxTokens) };
            await RunAsync(engine, parseResult.GetValue(system), sampling, Console.In, Console.Out, cancellationToken);
            return 0;
        });
        return command;
    }

    internal static async Task RunAsync(InferenceEngine engine, string? systemPrompt, SamplingParameters sampling, TextReader input, TextWriter output, CancellationToken cancellationToken)
    {
        var history = new List<ChatMessage>();
        void Reset()
        {
            history.Clear();
            if (!string.IsNullOrWhiteSpace(systemPrompt))
            {
                history.Add(new ChatMessage(ChatMessage.System, systemPrompt));
            }
        }

        Reset();
        var conversation = Guid.NewGuid().ToString("n");
        await output.WriteLineAsync($"{engine.Info.Id} ({engine.Info.ContextWindow} tokens of context). /reset starts over; an empty line quits.");
        while (!cancellationToken.IsCancellationRequested)
        {
            await output.WriteAsync("> ");
            await output.FlushAsync(cancellationToken);
            var line = await input.ReadLineAsync(cancellationToken);
            if (string.IsNullOrWhiteSpace(line))
            {
                return;
            }

            if (line.Trim() == "/reset")
            {
                Reset();
                conversation = Guid.NewGuid().ToString("n");
                continue;
            }

            history.Add(new ChatMessage(ChatMessage.User, line));
            var reply = new System.Text.StringBuilder();
            var request = new ChatRequest { Messages = history.ToList(), Sampling = sampling, CacheKey = conversation, TruncateOldest = true };
            await foreach (var delta in engine.ChatAsync(request, cancellationToken))
            {
                reply.Append(delta.Text);
                await output.WriteAsync(delta.Text);
                await output.FlushAsync(cancellationToken);
                if (delta.Finish == FinishReason.Length)
                {
                    await output.WriteAsync(" [cut at the length limit]");
                }
            }

            await output.WriteLineAsync();
            history.Add(new ChatMessage(ChatMessage.Assistant, reply.ToString()));
        }
    }
}
