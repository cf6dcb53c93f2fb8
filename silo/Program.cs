namespace ChatCluster.Silo;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("chatcluster silo: not wired yet");
        return args.Length == 0 ? 0 : 1;
    }
}
