namespace ChatCluster.Inference.Model;

/// <summary>The model's cache geometry, read from its past_key_values inputs: (batch, Heads, past, HeadDim) per layer.</summary>
internal readonly record struct KvShape(int Layers, int Heads, int HeadDim);
