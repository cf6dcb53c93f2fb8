using System.Text;
using ChatCluster.Silo.Redis;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Redis;

/// <summary>Every RESP2 reply type, binary safety and pipelining, against a real redis-server.</summary>
public sealed class RedisReplyTests(RedisServer server) : SharedRedisServerTest(server)
{
    [Fact]
    public async Task Ping_answers_a_simple_string()
    {
        RedisValue pong = await Redis.ExecuteAsync("PING");

        Assert.Equal(RedisValueKind.SimpleString, pong.Kind);
        Assert.Equal("PONG", pong.ToString());
    }

    [Fact]
    public async Task Set_then_get_round_trips_a_bulk_string_and_a_missing_key_is_null()
    {
        Assert.Equal("OK", (await Redis.ExecuteAsync("SET", Prefix + "k", "héllo wörld")).ToString());

        RedisValue value = await Redis.ExecuteAsync("GET", Prefix + "k");
        RedisValue missing = await Redis.ExecuteAsync("GET", Prefix + "absent");

        Assert.Equal(RedisValueKind.BulkString, value.Kind);
        Assert.Equal("héllo wörld", value.AsString());
        Assert.True(missing.IsNull);
        Assert.Null(missing.AsBytes());
    }

    [Fact]
    public async Task Incr_and_del_answer_integers()
    {
        Assert.Equal(1, (await Redis.ExecuteAsync("INCR", Prefix + "n")).AsLong());
        RedisValue incremented = await Redis.ExecuteAsync("INCRBY", Prefix + "n", -43L);
        RedisValue deleted = await Redis.ExecuteAsync("DEL", Prefix + "n", Prefix + "never-set");

        Assert.Equal(RedisValueKind.Integer, incremented.Kind);
        Assert.Equal(-42, incremented.AsLong());
        Assert.Equal(1, deleted.AsLong());
    }

    [Fact]
    public async Task Lrange_and_hgetall_answer_arrays_and_an_empty_list_is_an_empty_array()
    {
        await Redis.ExecuteAsync("RPUSH", Prefix + "list", "a", "", 3L);
        await Redis.ExecuteAsync("HSET", Prefix + "hash", "field", "value", "n", 7L);

        RedisValue[] list = (await Redis.ExecuteAsync("LRANGE", Prefix + "list", 0L, -1L)).AsArray();
        RedisValue[] hash = (await Redis.ExecuteAsync("HGETALL", Prefix + "hash")).AsArray();
        RedisValue[] empty = (await Redis.ExecuteAsync("LRANGE", Prefix + "nothing", 0L, -1L)).AsArray();

        Assert.Equal(["a", "", "3"], list.Select(v => v.AsString()));
        Assert.Equal(
            new Dictionary<string, string> { ["field"] = "value", ["n"] = "7" },
            hash.Chunk(2).ToDictionary(pair => pair[0].AsString()!, pair => pair[1].AsString()!));
        Assert.Empty(empty);
    }

    [Fact]
    public async Task Lua_tables_come_back_as_nested_arrays_with_nulls_and_integers()
    {
        RedisValue reply = await Redis.ExecuteAsync(
            "EVAL", "return {1, 'two', {3, {'four', false}}, redis.error_reply('inner failure')}", 0L);

        RedisValue[] outer = reply.AsArray();
        Assert.Equal(4, outer.Length);
        Assert.Equal(1, outer[0].AsLong());
        Assert.Equal("two", outer[1].AsString());
        RedisValue[] middle = outer[2].AsArray();
        Assert.Equal(3, middle[0].AsLong());
        RedisValue[] inner = middle[1].AsArray();
        Assert.Equal("four", inner[0].AsString());
        Assert.True(inner[1].IsNull);
        Assert.True(outer[3].IsError);
        Assert.Equal("inner failure", outer[3].ErrorMessage);
    }

    [Fact]
    public async Task A_blocking_pop_that_times_out_answers_a_null_array()
    {
        RedisValue reply = await Redis.ExecuteAsync("BLPOP", Prefix + "empty-queue", "0.05");

        Assert.True(reply.IsNull);
    }

    [Fact]
    public async Task Every_byte_value_survives_as_key_and_value()
    {
        byte[] all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        byte[] key = [.. Encoding.UTF8.GetBytes(Prefix), .. all];

        await Redis.ExecuteAsync("SET", key, all);
        RedisValue value = await Redis.ExecuteAsync("GET", key);

        Assert.Equal(all, value.AsBytes());
        Assert.Equal(256, (await Redis.ExecuteAsync("STRLEN", key)).AsLong());
    }

    [Fact]
    public async Task Megabyte_values_cross_buffer_boundaries_intact_in_both_directions()
    {
        var random = new Random(1234);
        byte[][] values = [.. Enumerable.Range(0, 4).Select(i => new byte[1024 * 1024 + i * 4099])];
        foreach (byte[] value in values)
        {
            random.NextBytes(value);
        }

        // Issued together, so large frames are interleaved with small ones in the same send and receive buffers.
        await Task.WhenAll(values.Select((value, i) => Redis.ExecuteAsync("SET", $"{Prefix}big{i}", value)));
        Task<RedisValue>[] reads = [.. values.Select((_, i) => Redis.ExecuteAsync("GET", $"{Prefix}big{i}"))];
        Task<RedisValue> ping = Redis.ExecuteAsync("PING");
        RedisValue[] read = await Task.WhenAll(reads);

        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i], read[i].AsBytes());
        }

        Assert.Equal("PONG", (await ping).ToString());
    }

    [Fact]
    public async Task A_thousand_concurrent_commands_each_get_their_own_reply()
    {
        Task<RedisValue>[] increments = [.. Enumerable.Range(0, 1000)
            .Select(i => Task.Run(() => Redis.ExecuteAsync("INCRBY", $"{Prefix}c{i}", (long)i * 7 + 1)))];
        RedisValue[] incremented = await Task.WhenAll(increments);
        RedisValue[] read = await Task.WhenAll(Enumerable.Range(0, 1000)
            .Select(i => Redis.ExecuteAsync("GET", $"{Prefix}c{i}")));

        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(i * 7 + 1, incremented[i].AsLong());
            Assert.Equal(i * 7 + 1, read[i].AsLong());
        }
    }

    [Fact]
    public async Task A_server_error_throws_with_the_servers_message_and_the_connection_goes_on()
    {
        await Redis.ExecuteAsync("SET", Prefix + "text", "not a number");

        var notInteger = await Assert.ThrowsAsync<RedisServerException>(() => Redis.ExecuteAsync("INCR", Prefix + "text"));
        var unknown = await Assert.ThrowsAsync<RedisServerException>(() => Redis.ExecuteAsync("NOSUCHCOMMAND", "x"));
        var wrongType = await Assert.ThrowsAsync<RedisServerException>(() => Redis.ExecuteAsync("LPUSH", Prefix + "text", "x"));

        Assert.Equal("ERR value is not an integer or out of range", notInteger.Message);
        Assert.StartsWith("ERR unknown command 'NOSUCHCOMMAND'", unknown.Message);
        Assert.StartsWith("WRONGTYPE", wrongType.Message);
        Assert.Equal("not a number", (await Redis.ExecuteAsync("GET", Prefix + "text")).AsString());
    }

    [Fact]
    public async Task Accessors_refuse_a_reply_of_another_kind_saying_what_it_is()
    {
        await Redis.ExecuteAsync("SET", Prefix + "word", "seven");
        RedisValue word = await Redis.ExecuteAsync("GET", Prefix + "word");
        RedisValue missing = await Redis.ExecuteAsync("GET", Prefix + "missing");

        var notInteger = Assert.Throws<InvalidOperationException>(() => word.AsLong());
        var notArray = Assert.Throws<InvalidOperationException>(() => missing.AsArray());

        Assert.Equal("The Redis reply is BulkString (seven), not an integer.", notInteger.Message);
        Assert.Equal("The Redis reply is Null ((nil)), not an array.", notArray.Message);
    }
}
