using System.Net;
using System.Net.Sockets;

namespace ChatCluster.Tests.Infrastructure;

/// <summary>Loopback ports for the servers tests start (HTTP, Orleans silo ports, Redis).</summary>
public static class FreePort
{
    /// <summary>A port the kernel just handed out and released: free now, and not handed out again soon.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
