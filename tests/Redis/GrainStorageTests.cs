using System.Collections.Concurrent;
using System.Text;
using ChatCluster.Grains;
using ChatCluster.Silo.Redis;
using ChatCluster.Silo.Storage;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Redis;

/// <summary>Both grain storage providers, and that Redis keeps every acknowledged write across a SIGKILL.</summary>
public sealed class GrainStorageTests
{
    [Fact]
    public async Task Redis_storage_writes_reads_and_clears_under_the_documented_key()
    {
        using RedisServer server = await RedisServer.StartAsync();
        await using RedisConnection redis = await server.ConnectAsync();
        var storage = new RedisGrainStorage(redis);
        var id = new GrainId("conv", "abc-123");
        byte[] state = Encoding.UTF8.GetBytes("""{"messages":["hi"]}""");

        Assert.Null(await storage.ReadAsync(id, default));
        await storage.WriteAsync(id, state, default);

        Assert.Equal(state, await storage.ReadAsync(id, default));
        Assert.Equal(state, (await redis.ExecuteAsync("GET", "chatcluster:grain:conv/abc-123")).AsBytes());
        Assert.Null(await storage.ReadAsync(new GrainId("conv", "abc-124"), default));

        await storage.ClearAsync(id, default);
        Assert.Null(await storage.ReadAsync(id, default));
        Assert.Equal(0, (await redis.ExecuteAsync("EXISTS", "chatcluster:grain:conv/abc-123")).AsLong());
    }

    [Fact]
    public async Task Redis_storage_loses_no_acknowledged_write_when_redis_is_killed_and_restarted()
    {
        using RedisServer server = await RedisServer.StartAsync();
        var states = Enumerable.Range(0, 300).ToDictionary(
            Grain,
            i => StateOfSize(seed: i, size: i % 10 == 0 ? 200_000 : 16 + i * 37));
        await using (RedisConnection writer = await server.ConnectAsync())
        {
            var storage = new RedisGrainStorage(writer);
            await Task.WhenAll(states.Select(pair => storage.WriteAsync(pair.Key, pair.Value, default)));
            await storage.ClearAsync(Grain(1), default);
            states[Grain(1)] = null!;
        }

        await server.KillAsync();
        await server.RestartAsync();

        await using RedisConnection reader = await server.ConnectAsync();
        var restored = new RedisGrainStorage(reader);
        foreach ((GrainId id, byte[]? expected) in states)
        {
            Assert.Equal(expected, await restored.ReadAsync(id, default));
        }
    }

    [Fact]
    public async Task Writes_acknowledged_before_a_sigkill_in_mid_stream_are_all_there_after_restart()
    {
        using RedisServer server = await RedisServer.StartAsync();
        var acknowledged = new ConcurrentBag<int>();
        using var stop = new CancellationTokenSource();
        await using (RedisConnection writer = await server.ConnectAsync(TimeSpan.FromSeconds(1)))
        {
            var storage = new RedisGrainStorage(writer);

            // Eight writers keep writing distinct grains until stopped; the kill lands among writes in flight.
            Task[] writers = [.. Enumerable.Range(0, 8).Select(first => Task.Run(async () =>
            {
                for (int i = first; !stop.IsCancellationRequested; i += 8)
                {
                    try
                    {
                        await storage.WriteAsync(Grain(i), StateOfSize(i, 500 + i % 3000), default);
                        acknowledged.Add(i);
                    }
                    catch (RedisException)
                    {
                        // Lost or timed out: not acknowledged, so the test promises nothing about it.
                    }
                }
            }))];
            using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                while (acknowledged.Count < 1000)
                {
                    await Task.Delay(5, limit.Token);
                }
            }

            await server.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        await server.RestartAsync();

        await using RedisConnection reader = await server.ConnectAsync();
        var restored = new RedisGrainStorage(reader);
        foreach (int i in acknowledged)
        {
            Assert.Equal(StateOfSize(i, 500 + i % 3000), await restored.ReadAsync(Grain(i), default));
        }
    }

    [Fact]
    public async Task Memory_storage_keeps_its_own_copy_of_the_bytes()
    {
        var storage = new MemoryGrainStorage();
        var id = new GrainId("conv", "x");
        byte[] written = [1, 2, 3];

        await storage.WriteAsync(id, written, default);
        written[0] = 9;
        byte[] firstRead = (await storage.ReadAsync(id, default))!;
        firstRead[1] = 9;

        Assert.Equal([1, 2, 3], await storage.ReadAsync(id, default));
        Assert.Null(await storage.ReadAsync(new GrainId("other", "x"), default));
        await storage.ClearAsync(id, default);
        Assert.Null(await storage.ReadAsync(id, default));
    }

    private static GrainId Grain(int index) => new("conv", $"c{index}");

    private static byte[] StateOfSize(int seed, int size)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
