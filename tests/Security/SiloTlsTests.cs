using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Security;

/// <summary>
/// Silo-to-silo TLS on loopback with a throwaway cluster certificate: two silos that present it form one
/// cluster and stream a conversation's reply from one to the other, and their silo ports speak only TLS.
/// </summary>
public sealed class SiloTlsTests : IAsyncLifetime
{
    private readonly string _certificatePath = Path.Combine(Path.GetTempPath(), $"chatcluster-silo-{Guid.NewGuid():N}.pfx");
    private X509Certificate2 _certificate = null!;
    private TwoSiloCluster _cluster = null!;

    private ServerFixture First => _cluster.First;

    private ServerFixture Second => _cluster.Second;

    public async Task InitializeAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=chatcluster-test-silo", key, HashAlgorithmName.SHA256);
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        await File.WriteAllBytesAsync(_certificatePath, _certificate.Export(X509ContentType.Pfx));
        _cluster = new TwoSiloCluster(redis => ["--model", TestPaths.TinyModel, "--redis", redis, "--tls-certificate", _certificatePath]);
        await _cluster.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        File.Delete(_certificatePath);
        _certificate.Dispose();
    }

    [Fact]
    public async Task Two_silos_with_the_cluster_certificate_serve_a_conversation_across_tls()
    {
        var created = await First.Client.PostAsJsonAsync("/v1/conversations", new { system = "Be brief." });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        // The conversation lives on the first silo; this turn reaches it from the second, over TLS.
        using var reply = await Second.Client.PostAsJsonAsync($"/v1/conversations/{id}/messages", new { content = "Define harbor", max_tokens = 4 });

        Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
        Assert.Equal(3, (await Second.Client.GetFromJsonAsync<JsonElement>($"/v1/conversations/{id}")).GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task The_silo_port_completes_a_tls_handshake_with_the_cluster_certificate()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", First.SiloPort);
        await using var tls = new SslStream(tcp.GetStream());

        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "chatcluster-test-silo",
            ClientCertificates = [_certificate],
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        });

        Assert.True(tls.IsAuthenticated && tls.IsEncrypted);
        Assert.Equal(_certificate.Thumbprint, new X509Certificate2(tls.RemoteCertificate!).Thumbprint);
    }
}
