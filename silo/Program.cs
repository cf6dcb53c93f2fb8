using System.CommandLine;
using ChatCluster.Silo.Commands;

namespace ChatCluster.Silo;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("ChatCluster: a chat-serving cluster node (serve is the default command).");
        root.SetAction(static _ =>
        {
            Console.Error.WriteLine("serve: not wired yet");
            return 1;
        });
        root.Subcommands.Add(TokenizeCommand.Create());
        return root.Parse(args).Invoke();
    }
}
