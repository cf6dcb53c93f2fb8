using System.Security.Cryptography;

namespace ChatCluster.Gateway.Http;

/// <summary>Unguessable ids (96 random bits): a conversation id is all another caller would need to try to reach it.</summary>
internal static class RandomIds
{
    public static string New(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
