namespace ChatCluster.Inference.Model;

/// <summary>
/// The host-side inputs and logits of one model call, reused from call to call: (batch, tokens) ids and
/// positions, (batch, past + tokens) attention mask, (batch, tokens, vocab) logits.
/// </summary>
internal sealed class ModelStepBuffers
{
    public PinnedBuffer<long> InputIds { get; } = new();

    public PinnedBuffer<long> PositionIds { get; } = new();

    public PinnedBuffer<long> AttentionMask { get; } = new();

    public PinnedBuffer<float> Logits { get; } = new();

    public void Reserve(int batch, int tokens, int pastLength, int vocab)
    {
        InputIds.EnsureCapacity(batch * tokens);
        PositionIds.EnsureCapacity(batch * tokens);
        AttentionMask.EnsureCapacity(batch * (pastLength + tokens));
        Logits.EnsureCapacity(batch * tokens * vocab);
    }
}
