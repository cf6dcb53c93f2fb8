namespace ChatCluster.Grains;

/// <summary>
/// Lets calls to a grain class interleave (as Orleans' [Reentrant]). Used by grains that own their own
/// concurrency, such as the inference grain whose scheduler loop serves many callers at once.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ReentrantAttribute : Attribute;
