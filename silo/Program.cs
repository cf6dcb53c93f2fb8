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
        return root.Parse(args).InvokeAsync();
    }
}
