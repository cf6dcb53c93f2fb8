namespace ChatCluster.Silo.Redis;

/// <summary>A command kept as data, for <see cref="RedisConnection.TransactionAsync"/>.</summary>
public readonly struct RedisCommand(string name, params RedisArgument[] arguments)
{
    public string Name { get; } = name;

    public RedisArgument[] Arguments { get; } = arguments;

    public override string ToString() => Name;
}
