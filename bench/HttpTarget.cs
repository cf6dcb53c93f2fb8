namespace ChatCluster.Bench;

/// <summary>
/// A server to drive: conversations are created through <see cref="Create"/> and their turns sent through
/// <see cref="Send"/>. Conversations live where they were created, so a different send node makes every token
/// cross silos.
/// </summary>
internal sealed record HttpTarget(string Name, Uri Create, Uri Send)
{
    /// <summary>Parses NAME=CREATE_URL[,SEND_URL]; the send URL defaults to the create URL.</summary>
    public static HttpTarget Parse(string text)
    {
        var (name, urls) = text.Split('=', 2) is [var n, var u] && n.Length > 0
            ? (n, u.Split(','))
            : throw new ArgumentException($"--target {text}: expected NAME=CREATE_URL[,SEND_URL]");
        return urls switch
        {
            [var create] => new HttpTarget(name, Base(create), Base(create)),
            [var create, var send] => new HttpTarget(name, Base(create), Base(send)),
            _ => throw new ArgumentException($"--target {text}: expected at most two URLs"),
        };
    }

    private static Uri Base(string url) =>
        Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ArgumentException($"--target: '{url}' is not an http(s) URL");
}
