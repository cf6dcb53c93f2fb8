namespace ChatCluster.Grains;

/// <summary>The identity of a grain: its interface's type name and its key.</summary>
public readonly record struct GrainId(string Type, string Key)
{
    public override string ToString() => $"{Type}/{Key}";
}
