namespace ChatCluster.Grains;

/// <summary>Hands out references to grains. A reference is cheap, and valid whether or not the grain is active.</summary>
public interface IGrainFactory
{
    TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrain;
}
