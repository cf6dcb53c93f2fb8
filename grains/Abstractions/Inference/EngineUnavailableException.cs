namespace ChatCluster.Grains.Inference;

/// <summary>
/// The engine asked cannot take the request: its silo is draining, or it is not on the silo its key names.
/// Nothing was generated; the caller routes the request to another engine.
/// </summary>
public sealed class EngineUnavailableException(string message) : Exception(message);

/// <summary>No engine in the cluster serves the model now (none started yet, or all gone): the API answers 503.</summary>
public sealed class NoEngineException(string message) : Exception(message);
