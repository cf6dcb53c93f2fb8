using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace ChatCluster.Silo.Hosting;

/// <summary>
/// TLS between silos (Orleans' connection security): mutual, TLS 1.2 or 1.3. A peer is accepted if its
/// certificate chains to a root this machine trusts (an operator's CA), or is the very certificate this silo
/// presents (one cluster certificate, distributed as a secret, needs no CA).
/// </summary>
internal static class SiloTls
{
    /// <summary>Environment variable with the .pfx password (kept off the command line, which others can read).</summary>
    public const string PasswordVariable = "CHATCLUSTER_TLS_PASSWORD";

    public static void Use(ISiloBuilder silo, string path)
    {
        var certificate = Load(path);
        silo.UseTls(certificate, tls =>
        {
            tls.RemoteCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
            tls.ClientCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
            tls.RemoteCertificateValidation = (remote, _, errors) =>
                errors == SslPolicyErrors.None || remote.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span);
        });
    }

    private static X509Certificate2 Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"--tls-certificate: '{path}' does not exist.", path);
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, Environment.GetEnvironmentVariable(PasswordVariable));
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidDataException($"--tls-certificate: '{path}' is not a PKCS#12 (.pfx) file this password opens ({PasswordVariable}): {e.Message}", e);
        }

        return certificate.HasPrivateKey
            ? certificate
            : throw new InvalidDataException($"--tls-certificate: '{path}' holds no private key; a silo must prove it owns the certificate.");
    }
}
