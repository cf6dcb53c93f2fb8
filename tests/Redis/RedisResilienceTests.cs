using System.Collections.Concurrent;
using ChatCluster.Silo.Redis;
using ChatCluster.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatCluster.Tests.Redis;

/// <summary>Timeouts, a server killed with SIGKILL and restarted, AUTH/SELECT: each test owns its redis-server.</summary>
public sealed class RedisResilienceTests
{
    [Fact]
    public async Task A_command_that_outlives_its_timeout_throws_and_its_late_reply_goes_to_no_one()
    {
        using RedisServer server = await RedisServer.StartAsync();
        await using RedisConnection redis = await server.ConnectAsync(TimeSpan.FromSeconds(1));

        // The server answers BLPOP after 4 s, long after the client gave up on it.
        var timeout = await Assert.ThrowsAsync<RedisTimeoutException>(() => redis.ExecuteAsync("BLPOP", "queue", 4L));
        Assert.Contains("did not answer BLPOP", timeout.Message);

        // Commands queue behind the BLPOP until its late reply comes and is dropped (those may time out too);
        // the first one answered must get its own reply, not the BLPOP's nil.
        string? echoed = null;
        for (int attempt = 0; echoed is null; attempt++)
        {
            Assert.True(attempt < 20, "the connection never answered again");
            try
            {
                echoed = (await redis.ExecuteAsync("ECHO", $"after-{attempt}")).AsString();
                Assert.Equal($"after-{attempt}", echoed);
            }
            catch (RedisTimeoutException)
            {
                // Still behind the BLPOP.
            }
        }

        Assert.True(redis.IsConnected);
    }

    [Fact]
    public async Task Commands_in_flight_when_the_server_dies_fail_with_a_connection_error()
    {
        using RedisServer server = await RedisServer.StartAsync();
        await using RedisConnection redis = await server.ConnectAsync(TimeSpan.FromSeconds(60));
        Task<RedisValue> blocked = redis.ExecuteAsync("BLPOP", "queue", 30L);
        await using (RedisConnection observer = await server.ConnectAsync(TimeSpan.FromSeconds(5)))
        {
            // Kill only once the server holds the BLPOP, so it is truly in flight.
            while (!(await observer.ExecuteAsync("INFO", "clients")).AsString()!.Contains("blocked_clients:1"))
            {
                await Task.Delay(10);
            }
        }

        await server.KillAsync();

        var lost = await Assert.ThrowsAsync<RedisConnectionException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("was lost before BLPOP was answered", lost.Message);
    }

    [Fact]
    public async Task After_the_server_restarts_on_the_same_port_the_same_connection_serves_again()
    {
        using RedisServer server = await RedisServer.StartAsync();
        await using RedisConnection redis = await server.ConnectAsync(TimeSpan.FromSeconds(20));
        await redis.ExecuteAsync("SET", "survivor", "still here");

        await KillAndWaitForLossAsync(server, redis);
        await server.RestartAsync();

        Assert.Equal("still here", (await redis.ExecuteAsync("GET", "survivor")).AsString());
        Assert.Equal(2, (await redis.ExecuteAsync("INCRBY", "counter", 2L)).AsLong());
        Assert.True(redis.IsConnected);
    }

    [Fact]
    public async Task Commands_issued_while_the_server_is_down_wait_and_run_once_it_is_back()
    {
        using RedisServer server = await RedisServer.StartAsync();
        await using RedisConnection redis = await server.ConnectAsync(TimeSpan.FromSeconds(20));
        await KillAndWaitForLossAsync(server, redis);

        Task<RedisValue>[] waiting = [.. Enumerable.Range(1, 20).Select(i => redis.ExecuteAsync("RPUSH", "while-down", (long)i))];
        Assert.DoesNotContain(waiting, task => task.IsCompleted);
        await server.RestartAsync();

        RedisValue[] lengths = await Task.WhenAll(waiting);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), lengths.Select(v => v.AsLong()));
        RedisValue[] list = (await redis.ExecuteAsync("LRANGE", "while-down", 0L, -1L)).AsArray();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i.ToString()), list.Select(v => v.AsString()));
    }

    [Fact]
    public async Task Commands_issued_while_the_server_stays_down_time_out_unsent()
    {
        using RedisServer server = await RedisServer.StartAsync();
        await using RedisConnection redis = await server.ConnectAsync(TimeSpan.FromMilliseconds(500));
        await KillAndWaitForLossAsync(server, redis);

        var timeout = await Assert.ThrowsAsync<RedisTimeoutException>(() => redis.ExecuteAsync("SET", "k", "v"));

        Assert.Contains("SET was not sent", timeout.Message);
    }

    [Fact]
    public async Task Auth_and_select_are_sent_again_after_a_reconnect()
    {
        using RedisServer server = await RedisServer.StartAsync("--requirepass", "s3cret");
        await using RedisConnection redis = await RedisConnection.ConnectAsync(server.Options(password: "s3cret", database: 3), default);
        await redis.ExecuteAsync("SET", "in-db-3", "three");

        await KillAndWaitForLossAsync(server, redis);
        await server.RestartAsync();

        Assert.Equal("three", (await redis.ExecuteAsync("GET", "in-db-3")).AsString());
        await using RedisConnection databaseZero = await RedisConnection.ConnectAsync(server.Options(password: "s3cret"), default);
        Assert.True((await databaseZero.ExecuteAsync("GET", "in-db-3")).IsNull);
    }

    [Fact]
    public async Task A_wrong_password_fails_the_connect_with_the_servers_reason()
    {
        using RedisServer server = await RedisServer.StartAsync("--requirepass", "s3cret");

        var refused = await Assert.ThrowsAsync<RedisConnectionException>(
            () => RedisConnection.ConnectAsync(server.Options(password: "wrong"), default));

        Assert.Contains("refused the connection handshake: WRONGPASS", refused.Message);
    }

    [Fact]
    public async Task Connecting_where_nothing_listens_fails_with_a_connection_error()
    {
        int port;
        using (RedisServer stopped = await RedisServer.StartAsync())
        {
            port = stopped.Port;
        }

        var refused = await Assert.ThrowsAsync<RedisConnectionException>(() => RedisConnection.ConnectAsync(
            new RedisOptions { Endpoint = new RedisEndpoint("127.0.0.1", port) }, default));

        Assert.Contains($"Could not connect to Redis at 127.0.0.1:{port}", refused.Message);
    }

    [Fact]
    public void The_reconnect_backoff_doubles_from_the_initial_wait_up_to_the_cap()
    {
        TimeSpan[] delays = [.. Enumerable.Range(0, 8).Select(attempt => RedisConnection.ReconnectDelay(
            attempt, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(1000)))];

        Assert.Equal([50, 100, 200, 400, 800, 1000, 1000, 1000], delays.Select(d => d.TotalMilliseconds));
        Assert.Equal(TimeSpan.FromSeconds(1), RedisConnection.ReconnectDelay(
            int.MaxValue, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task While_the_server_is_down_reconnect_attempts_back_off_doubling_up_to_the_cap()
    {
        using RedisServer server = await RedisServer.StartAsync();
        var time = new DelayRecordingTimeProvider();
        await using RedisConnection redis = await RedisConnection.ConnectAsync(
            new RedisOptions
            {
                Endpoint = RedisEndpoint.Parse(server.Endpoint),
                InitialReconnectBackoff = TimeSpan.FromMilliseconds(20),
                MaxReconnectBackoff = TimeSpan.FromMilliseconds(80),
            },
            time,
            NullLogger.Instance,
            default);

        await KillAndWaitForLossAsync(server, redis);
        using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (time.OneShotDelays.Count(d => d <= TimeSpan.FromMilliseconds(80)) < 6)
            {
                await Task.Delay(10, limit.Token);
            }
        }

        // Only the backoff waits are this short (the connect timeout is seconds, the sweep timer periodic).
        Assert.Equal([20, 40, 80, 80, 80, 80], time.OneShotDelays
            .Where(d => d <= TimeSpan.FromMilliseconds(80)).Take(6).Select(d => d.TotalMilliseconds));
        await server.RestartAsync();
        Assert.Equal("PONG", (await redis.ExecuteAsync("PING")).ToString());
    }

    // SIGKILLs the server, then waits (bounded) until the client has seen its socket close.
    private static async Task KillAndWaitForLossAsync(RedisServer server, RedisConnection redis)
    {
        await server.KillAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (redis.IsConnected)
        {
            await Task.Delay(10, limit.Token);
        }
    }

    // The real clock, with a record of every one-shot wait asked of it (Task.Delay, CancelAfter) in order.
    private sealed class DelayRecordingTimeProvider : TimeProvider
    {
        private readonly ConcurrentQueue<TimeSpan> _oneShotDelays = new();

        public IEnumerable<TimeSpan> OneShotDelays => _oneShotDelays;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (period == Timeout.InfiniteTimeSpan)
            {
                _oneShotDelays.Enqueue(dueTime);
            }

            return System.CreateTimer(callback, state, dueTime, period);
        }
    }
}
