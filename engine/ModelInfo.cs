namespace ChatCluster.Inference;

/// <summary>What a loaded model is: its id (the folder name), context window and device.</summary>
public sealed record ModelInfo(string Id, int ContextWindow, string Device, long CreatedUnixSeconds);
