using System.Reflection;
using ChatCluster.Grains;

namespace ChatCluster.Silo.Runtime;

/// <summary>Hands out grain references: proxies that send each call to the grain's activation.</summary>
internal sealed class GrainFactory(GrainCatalog catalog) : IGrainFactory
{
    public TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrain
    {
        ArgumentNullException.ThrowIfNull(key);
        var type = catalog.GetGrainType(typeof(TGrainInterface));
        // DispatchProxy generates the proxy type once per interface and caches it; each reference is one small object.
        var proxy = DispatchProxy.Create<TGrainInterface, GrainReference>();
        ((GrainReference)(object)proxy).Bind(catalog, type, new GrainId(type.Name, key));
        return proxy;
    }
}
