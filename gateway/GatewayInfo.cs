namespace ChatCluster.Gateway;

internal static class GatewayInfo
{
    public const string Name = "chatcluster-gateway";
}
