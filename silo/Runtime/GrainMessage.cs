using System.Diagnostics;
using System.Reflection;
using ChatCluster.Grains;

namespace ChatCluster.Silo.Runtime;

/// <summary>
/// One call queued in an activation's mailbox. The message pump starts its turn, waits for the returned task,
/// does its own bookkeeping, and only then ends the turn, so a caller that sees its call complete knows the
/// activation has already taken the turn back.
/// </summary>
internal abstract class GrainMessage(MethodInfo method)
{
    /// <summary>The interface method called.</summary>
    public MethodInfo Method { get; } = method;

    /// <summary>The caller's trace context, taken when the call is made, so the turn's span is its child.</summary>
    public ActivityContext CallerContext { get; } = Activity.Current?.Context ?? default;

    /// <summary>Runs the call on the grain; the returned task completes when the turn is over. Never throws.</summary>
    public abstract Task StartTurn(Grain grain);

    /// <summary>Hands the call's outcome to the caller; called once, after the task of <see cref="StartTurn"/> completed.</summary>
    public abstract void EndTurn();

    /// <summary>The call could not run (the activation failed, or the silo is stopping).</summary>
    public abstract void Fail(Exception exception);
}
