using System.Collections.Concurrent;
using ChatCluster.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatCluster.Tests.Gateway;

/// <summary>
/// The gateway alone on a real Kestrel listener (127.0.0.1, a free port), without a silo: no grain factory is
/// registered, so these tests cover what the gateway settles before it calls a grain (keys, limits, CORS,
/// body and request checks, the page). Requests that need grains are tested against the real silo.
/// </summary>
internal sealed class GatewayTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayTestHost(WebApplication app, Uri address, ConcurrentQueue<string> log)
    {
        _app = app;
        Log = log;
        Client = new HttpClient { BaseAddress = address };
    }

    public HttpClient Client { get; }

    /// <summary>Every message the host logged, in order.</summary>
    public ConcurrentQueue<string> Log { get; }

    public static async Task<GatewayTestHost> StartAsync(GatewayOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var log = new ConcurrentQueue<string>();
        builder.Logging.ClearProviders().AddProvider(new QueueLoggerProvider(log));
        builder.Services.AddChatGateway(options);
        var app = builder.Build();
        app.MapChatGateway();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GatewayTestHost(app, new Uri(address), log);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>A logging sink that keeps formatted messages, so tests can read what the server told its operator.</summary>
    private sealed class QueueLoggerProvider(ConcurrentQueue<string> messages) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(messages);

        public void Dispose()
        {
        }

        private sealed class QueueLogger(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    messages.Enqueue(formatter(state, exception));
                }
            }
        }
    }
}
