using System.Net;
using ChatCluster.Silo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace ChatCluster.Tests.Infrastructure;

/// <summary>
/// The real silo (bundled model, in-memory state) in this process, listening on a free port of 127.0.0.1:
/// tests talk to it over HTTP exactly as users do. Subclasses add command-line options (keys, limits).
/// </summary>
public class ServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>An HTTP client for the server (no key).</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>The engine inside the server, for tests that watch the batch (rows, steps).</summary>
    public ChatCluster.Inference.InferenceEngine Engine => _app!.Services.GetRequiredService<ChatCluster.InferenceGrains.LocalEngines>().All.First();

    /// <summary>A logit_bias JSON object that bans the model's end tokens: replies then run to their token limit.</summary>
    public string BanEndTokens => "{" + string.Join(',', Engine.EndTokenIds.Select(id => $"\"{id}\":-100")) + "}";

    /// <summary>The id of the served model, as GET /v1/models lists it.</summary>
    public string ModelId { get; private set; } = "";

    /// <summary>Options after <c>--urls</c>, as on the command line.</summary>
    protected virtual string[] Arguments => [];

    /// <summary>A key the fixture may use for its own start-up calls (null for an open server).</summary>
    protected virtual string? StartupKey => null;

    /// <summary>The Orleans silo-to-silo port of this node (loopback).</summary>
    public int SiloPort { get; } = FreePort.Next();

    /// <summary>The node's services: its grain factory, its engine.</summary>
    public IServiceProvider Services => _app!.Services;

    public virtual async Task InitializeAsync()
    {
        _app = await SiloHost.CreateAppAsync(["--urls", "http://127.0.0.1:0", "--silo-port", SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--gateway-port", "0", .. Arguments]);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        // Ready once the node's router knows an engine (its own, normally known at start-up; another node's after a poll).
        await AsyncTimeouts.UntilAsync(async () =>
        {
            using var health = await Client.GetAsync("/healthz");
            return health.StatusCode == HttpStatusCode.OK;
        }, "the node answers /healthz with 200");
        using var models = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        if (StartupKey is not null)
        {
            models.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", StartupKey);
        }

        using var response = await Client.SendAsync(models);
        response.EnsureSuccessStatusCode();
        using var list = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        ModelId = list.RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
    }

    /// <summary>The official OpenAI client for this server.</summary>
    public OpenAI.Chat.ChatClient ChatClient(string apiKey = "no-key-needed") =>
        new(ModelId, new System.ClientModel.ApiKeyCredential(apiKey), new OpenAI.OpenAIClientOptions
        {
            Endpoint = new Uri(BaseAddress, "/v1"),
            NetworkTimeout = TimeSpan.FromMinutes(5),
        });

    public virtual async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
