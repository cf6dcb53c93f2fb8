using ChatCluster.Silo.Redis;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Redis;

/// <summary>MULTI/EXEC through <see cref="RedisConnection.TransactionAsync"/> against a real redis-server.</summary>
public sealed class RedisTransactionTests(RedisServer server) : SharedRedisServerTest(server)
{
    [Fact]
    public async Task Exec_returns_one_result_per_command()
    {
        RedisValue[] results = await Redis.TransactionAsync([
            new("SET", Prefix + "a", "1"),
            new("INCRBY", Prefix + "a", 41L),
            new("GET", Prefix + "a"),
            new("GET", Prefix + "missing"),
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
        await Redis.ExecuteAsync("SET", Prefix + "text", "abc");

        RedisValue[] results = await Redis.TransactionAsync([
            new("SET", Prefix + "b", "before"),
            new("INCR", Prefix + "text"),
            new("SET", Prefix + "c", "after"),
        ]);

        Assert.Equal("OK", results[0].ToString());
        Assert.True(results[1].IsError);
        Assert.Equal("ERR value is not an integer or out of range", results[1].ErrorMessage);
        Assert.Equal("OK", results[2].ToString());
        Assert.Equal("after", (await Redis.ExecuteAsync("GET", Prefix + "c")).AsString());
    }

    [Fact]
    public async Task A_command_rejected_while_queuing_aborts_the_whole_transaction()
    {
        var error = await Assert.ThrowsAsync<RedisServerException>(() => Redis.TransactionAsync([
            new("SET", Prefix + "d", "never"),
            new("NOSUCHCOMMAND"),
        ]));

        Assert.StartsWith("EXECABORT", error.Message);
        Assert.Contains("unknown command 'NOSUCHCOMMAND'", error.Message);
        Assert.True((await Redis.ExecuteAsync("GET", Prefix + "d")).IsNull);
        Assert.Equal("PONG", (await Redis.ExecuteAsync("PING")).ToString());
    }

    [Fact]
    public async Task A_watched_key_changed_by_another_client_aborts_with_a_clear_exception()
    {
        await using RedisConnection other = await Server.ConnectAsync();
        await Redis.ExecuteAsync("WATCH", Prefix + "watched");
        await other.ExecuteAsync("SET", Prefix + "watched", "changed elsewhere");

        await Assert.ThrowsAsync<RedisTransactionAbortedException>(() => Redis.TransactionAsync([
            new("SET", Prefix + "watched", "mine"),
        ]));

        Assert.Equal("changed elsewhere", (await Redis.ExecuteAsync("GET", Prefix + "watched")).AsString());
    }

    [Fact]
    public async Task Concurrent_transactions_and_plain_commands_on_one_connection_never_interleave()
    {
        string list = Prefix + "log";
        Task<RedisValue[]>[] transactions = [.. Enumerable.Range(0, 200).Select(i => Task.Run(() => Redis.TransactionAsync([
            new("RPUSH", list, $"{i}:first"),
            new("RPUSH", list, $"{i}:second"),
        ])))];
        Task<RedisValue>[] plain = [.. Enumerable.Range(0, 200).Select(_ => Task.Run(() => Redis.ExecuteAsync("RPUSH", list, "plain")))];
        RedisValue[][] results = await Task.WhenAll(transactions);
        await Task.WhenAll(plain);

        string[] log = [.. (await Redis.ExecuteAsync("LRANGE", list, 0L, -1L)).AsArray().Select(v => v.AsString()!)];
        Assert.Equal(600, log.Length);
        for (int i = 0; i < 200; i++)
        {
            int first = Array.IndexOf(log, $"{i}:first");
            Assert.Equal($"{i}:second", log[first + 1]);
            Assert.Equal(results[i][0].AsLong() + 1, results[i][1].AsLong());
        }
    }
}
