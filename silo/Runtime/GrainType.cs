using System.Collections.Frozen;
using System.Reflection;
using ChatCluster.Grains;

namespace ChatCluster.Silo.Runtime;

/// <summary>
/// A registered grain: its interface (whose name is the type part of its ids), its implementation, whether its
/// calls may interleave, the type of its persistent state, and how each interface method is called.
/// </summary>
internal sealed class GrainType
{
    private readonly FrozenDictionary<MethodInfo, GrainMethod> _methods;

    private GrainType(Type interfaceType, Type implementation)
    {
        Interface = interfaceType;
        Implementation = implementation;
        Name = interfaceType.Name;
        IsReentrant = implementation.IsDefined(typeof(ReentrantAttribute), inherit: false);
        StateType = FindStateType(implementation);
        _methods = interfaceType.GetInterfaces().Prepend(interfaceType)
            .SelectMany(static type => type.GetMethods())
            .ToFrozenDictionary(static method => method, GrainMethod.Create);
    }

    public Type Interface { get; }

    public Type Implementation { get; }

    /// <summary>The type part of this grain's ids: the interface's name (stable storage keys across namespace moves).</summary>
    public string Name { get; }

    public bool IsReentrant { get; }

    /// <summary>TState of the implementation's <see cref="IPersistentState{TState}"/> constructor parameter, if any.</summary>
    public Type? StateType { get; }

    /// <summary>Checks the pair and describes it; throws <see cref="InvalidOperationException"/> for a grain that cannot be hosted.</summary>
    public static GrainType Create(Type interfaceType, Type implementation)
    {
        if (!interfaceType.IsInterface || !typeof(IGrain).IsAssignableFrom(interfaceType))
        {
            throw new InvalidOperationException($"{interfaceType.Name} is not a grain interface (an interface deriving from IGrain).");
        }

        if (implementation.IsAbstract || !typeof(Grain).IsAssignableFrom(implementation) || !interfaceType.IsAssignableFrom(implementation))
        {
            throw new InvalidOperationException($"{implementation.Name} must be a concrete class deriving from Grain and implementing {interfaceType.Name}.");
        }

        return new GrainType(interfaceType, implementation);
    }

    public GrainMethod GetMethod(MethodInfo interfaceMethod) => _methods[interfaceMethod];

    private static Type? FindStateType(Type implementation)
    {
        var stateTypes = implementation.GetConstructors()
            .SelectMany(static constructor => constructor.GetParameters())
            .Select(static parameter => parameter.ParameterType)
            .Where(static type => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IPersistentState<>))
            .Select(static type => type.GetGenericArguments()[0])
            .Distinct()
            .ToArray();
        return stateTypes.Length switch
        {
            0 => null,
            1 => stateTypes[0],
            // Storage is keyed by grain id alone, so a grain has one state record.
            _ => throw new InvalidOperationException($"{implementation.Name} asks for {stateTypes.Length} persistent states; a grain has at most one."),
        };
    }
}
