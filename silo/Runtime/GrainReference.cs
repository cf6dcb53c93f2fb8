using System.Reflection;
using ChatCluster.Grains;

namespace ChatCluster.Silo.Runtime;

/// <summary>
/// The proxy behind every grain reference (the generated proxy type derives from this class and implements
/// the grain interface): each interface call becomes a message for the grain's activation.
/// </summary>
internal class GrainReference : DispatchProxy
{
    private GrainCatalog _catalog = null!;
    private GrainType _type = null!;

    public GrainId GrainId { get; private set; }

    public override string ToString() => GrainId.ToString();

    internal void Bind(GrainCatalog catalog, GrainType type, GrainId grainId)
    {
        _catalog = catalog;
        _type = type;
        GrainId = grainId;
    }

    internal void Send(GrainMessage message) => _catalog.Send(_type, GrainId, message);

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        return _type.GetMethod(targetMethod).Send(this, args ?? []);
    }
}
