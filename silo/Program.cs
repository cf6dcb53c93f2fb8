using System.CommandLine;
using ChatCluster.Silo.Commands;

namespace ChatCluster.Silo;

public static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = ServeCommand.Configure(new RootCommand("ChatCluster: a chat-serving cluster node. Serves by default."));
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        // No termination timeout: on SIGTERM the web host shuts down gracefully (in-flight turns end, state is
        // written, bounded by the host's shutdown timeout), instead of being cut off after System.CommandLine's 2 s.
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }
}
