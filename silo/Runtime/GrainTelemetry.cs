using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace ChatCluster.Silo.Runtime;

/// <summary>The grain runtime's trace source: one span per turn, named after the interface method.</summary>
internal static class GrainTelemetry
{
    public const string SourceName = "ChatCluster.Grains";

    public static readonly ActivitySource Source = new(SourceName);

    private static readonly ConcurrentDictionary<MethodInfo, string> Names = new();

    /// <summary>"grain IConversationGrain.SendAsync", built once per method.</summary>
    public static string TurnName(MethodInfo method) =>
        Names.GetOrAdd(method, static m => $"grain {m.DeclaringType?.Name}.{m.Name}");
}
