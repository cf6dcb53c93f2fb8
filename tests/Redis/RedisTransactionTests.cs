using ChatCluster.Silo.Redis;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Redis;

/// <summary>MULTI/EXEC through <see cref="RedisConnection.TransactionAsync"/> against a real redis-server.</summary>
public sealed class RedisTransactionTests(RedisServer server) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _prefix = $"tx:{Guid.NewGuid():N}:";
    private RedisConnection _redis = null!;

    public async Task InitializeAsync() => _redis = await ConnectAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Exec_returns_one_result_per_command()
    {
        RedisValue[] results = await _redis.TransactionAsync([
            new("SET", _prefix + "a", "1"),
            new("INCRBY", _prefix + "a", 41L),
            new("GET", _prefix + "a"),
            new("GET", _prefix + "missing"),
        ]);

        Assert.Equal(4, results.Length);
        Assert.Equal("OK", results[0].ToString());
        Assert.Equal(42, results[1].AsLong());
        Assert.Equal("42", results[2].AsString());
        Assert.True(results[3].IsNull);
    }

    [Fact]
    public async Task A_command_failing_at_run_time_yields_an_error_element_and_the_others_still_run()
    {
        await _redis.ExecuteAsync("SET", _prefix + "text", "abc");

        RedisValue[] results = await _redis.TransactionAsync([
            new("SET", _prefix + "b", "before"),
            new("INCR", _prefix + "text"),
            new("SET", _prefix + "c", "after"),
        ]);

        Assert.Equal("OK", results[0].ToString());
        Assert.True(results[1].IsError);
        Assert.Equal("ERR value is not an integer or out of range", results[1].ErrorMessage);
        Assert.Equal("OK", results[2].ToString());
        Assert.Equal("after", (await _redis.ExecuteAsync("GET", _prefix + "c")).AsString());
    }

    [Fact]
    public async Task A_command_rejected_while_queuing_aborts_the_whole_transaction()
    {
        var error = await Assert.ThrowsAsync<RedisServerException>(() => _redis.TransactionAsync([
            new("SET", _prefix + "d", "never"),
            new("NOSUCHCOMMAND"),
        ]));

        Assert.StartsWith("EXECABORT", error.Message);
        Assert.Contains("unknown command 'NOSUCHCOMMAND'", error.Message);
        Assert.True((await _redis.ExecuteAsync("GET", _prefix + "d")).IsNull);
        Assert.Equal("PONG", (await _redis.ExecuteAsync("PING")).ToString());
    }

    [Fact]
    public async Task A_watched_key_changed_by_another_client_aborts_with_a_clear_exception()
    {
        await using RedisConnection other = await ConnectAsync();
        await _redis.ExecuteAsync("WATCH", _prefix + "watched");
        await other.ExecuteAsync("SET", _prefix + "watched", "changed elsewhere");

        await Assert.ThrowsAsync<RedisTransactionAbortedException>(() => _redis.TransactionAsync([
            new("SET", _prefix + "watched", "mine"),
        ]));

        Assert.Equal("changed elsewhere", (await _redis.ExecuteAsync("GET", _prefix + "watched")).AsString());
    }

    [Fact]
    public async Task Concurrent_transactions_and_plain_commands_on_one_connection_never_interleave()
    {
        string list = _prefix + "log";
        Task<RedisValue[]>[] transactions = [.. Enumerable.Range(0, 200).Select(i => Task.Run(() => _redis.TransactionAsync([
            new("RPUSH", list, $"{i}:first"),
            new("RPUSH", list, $"{i}:second"),
        ])))];
        Task<RedisValue>[] plain = [.. Enumerable.Range(0, 200).Select(_ => Task.Run(() => _redis.ExecuteAsync("RPUSH", list, "plain")))];
        RedisValue[][] results = await Task.WhenAll(transactions);
        await Task.WhenAll(plain);

        string[] log = [.. (await _redis.ExecuteAsync("LRANGE", list, 0L, -1L)).AsArray().Select(v => v.AsString()!)];
        Assert.Equal(600, log.Length);
        for (int i = 0; i < 200; i++)
        {
            int first = Array.IndexOf(log, $"{i}:first");
            Assert.Equal($"{i}:second", log[first + 1]);
            Assert.Equal(results[i][0].AsLong() + 1, results[i][1].AsLong());
        }
    }

    private Task<RedisConnection> ConnectAsync() =>
        RedisConnection.ConnectAsync(new RedisOptions { Endpoint = RedisEndpoint.Parse(server.Endpoint) }, default);
}
