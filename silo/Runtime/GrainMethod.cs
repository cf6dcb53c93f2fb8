using System.Reflection;

namespace ChatCluster.Silo.Runtime;

/// <summary>
/// How calls of one grain interface method become messages, decided once per method from its return type.
/// </summary>
internal sealed class GrainMethod
{
    private readonly Func<GrainMethod, GrainReference, object?[], object> _send;
    private readonly bool _returnsValueTask;

    private GrainMethod(MethodInfo method, string sender, Type? resultType, bool returnsValueTask)
    {
        Method = method;
        _returnsValueTask = returnsValueTask;
        CancellationTokenIndex = Array.FindIndex(method.GetParameters(), static p => p.ParameterType == typeof(CancellationToken));
        var senderMethod = typeof(GrainMethod).GetMethod(sender, BindingFlags.NonPublic | BindingFlags.Static)!;
        _send = (resultType is null ? senderMethod : senderMethod.MakeGenericMethod(resultType))
            .CreateDelegate<Func<GrainMethod, GrainReference, object?[], object>>();
    }

    public MethodInfo Method { get; }

    /// <summary>The position of the method's <see cref="CancellationToken"/> parameter, or -1.</summary>
    public int CancellationTokenIndex { get; }

    /// <summary>Throws <see cref="InvalidOperationException"/> for a method a grain interface cannot have.</summary>
    public static GrainMethod Create(MethodInfo method)
    {
        var returnType = method.ReturnType;
        var generic = returnType.IsGenericType ? returnType.GetGenericTypeDefinition() : null;
        if (!method.IsGenericMethodDefinition)
        {
            if (returnType == typeof(Task) || returnType == typeof(ValueTask))
            {
                return new GrainMethod(method, nameof(SendCall), null, returnType == typeof(ValueTask));
            }

            if (generic == typeof(Task<>) || generic == typeof(ValueTask<>))
            {
                return new GrainMethod(method, nameof(SendResultCall), returnType.GetGenericArguments()[0], generic == typeof(ValueTask<>));
            }

            if (generic == typeof(IAsyncEnumerable<>))
            {
                return new GrainMethod(method, nameof(OpenStream), returnType.GetGenericArguments()[0], false);
            }
        }

        throw new InvalidOperationException(
            $"Grain method {method.DeclaringType?.Name}.{method.Name} cannot be called through a grain reference: grain methods are " +
            "not generic and return Task, Task<T>, ValueTask, ValueTask<T> or IAsyncEnumerable<T>.");
    }

    /// <summary>Sends the call (streams: returns the stream, sent when enumerated); the result is what the method returns.</summary>
    public object Send(GrainReference target, object?[] arguments) => _send(this, target, arguments);

    private static object SendCall(GrainMethod method, GrainReference target, object?[] arguments)
    {
        var call = new VoidCall(method.Method, arguments);
        target.Send(call);
        return method._returnsValueTask ? new ValueTask(call.Result) : call.Result;
    }

    private static object SendResultCall<TResult>(GrainMethod method, GrainReference target, object?[] arguments)
    {
        var call = new ResultCall<TResult>(method.Method, arguments);
        target.Send(call);
        return method._returnsValueTask ? new ValueTask<TResult>(call.Result) : call.Result;
    }

    private static object OpenStream<TItem>(GrainMethod method, GrainReference target, object?[] arguments) =>
        new GrainStream<TItem>(target, method, arguments);
}
