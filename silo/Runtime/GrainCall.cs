using System.Reflection;
using ChatCluster.Grains;

namespace ChatCluster.Silo.Runtime;

/// <summary>
/// A call whose result is a task. The caller is given the grain's own task (through
/// <see cref="Task{TResult}"/>.Unwrap), so its result, exception objects and cancellation arrive unchanged.
/// </summary>
/// <typeparam name="TTask"><see cref="Task"/> or <see cref="Task{TResult}"/>.</typeparam>
internal abstract class GrainCall<TTask>(MethodInfo method, object?[] arguments) : GrainMessage(method)
    where TTask : Task
{
    private readonly TaskCompletionSource<TTask> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TTask? _turn;

    protected Task<TTask> Outcome => _outcome.Task;

    public sealed override Task StartTurn(Grain grain)
    {
        try
        {
            _turn = ToTask(Method.Invoke(grain, BindingFlags.DoNotWrapExceptions, null, arguments, null))
                ?? throw new InvalidOperationException($"{Method.DeclaringType?.Name}.{Method.Name} returned null instead of a task.");
        }
        catch (Exception exception)
        {
            _turn = FromException(exception);
        }

        return _turn;
    }

    public sealed override void EndTurn() => _outcome.SetResult(_turn!);

    public sealed override void Fail(Exception exception) => _outcome.TrySetException(exception);

    /// <summary>The method's return value as a task (ValueTasks are converted), or null if it returned null.</summary>
    protected abstract TTask? ToTask(object? returned);

    protected abstract TTask FromException(Exception exception);
}
