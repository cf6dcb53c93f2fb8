namespace ChatCluster.Inference;

/// <summary>One message of a chat. Roles: system, user, assistant.</summary>
public sealed record ChatMessage(string Role, string Content)
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";

    public static bool IsKnownRole(string role) => role is System or User or Assistant;
}
