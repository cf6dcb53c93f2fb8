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

    /// <summary>
    /// Sets up a batch-1 call over one sequence's next <paramref name="count"/> tokens after the
    /// <paramref name="start"/> already in its cache: their ids and positions, and a mask over all of them.
    /// </summary>
    public void FillChunk(IReadOnlyList<int> tokens, int start, int count, int vocab)
    {
        Reserve(1, count, start, vocab);
        var ids = InputIds.Span;
        var positions = PositionIds.Span;
        for (var i = 0; i < count; i++)
        {
            ids[i] = tokens[start + i];
            positions[i] = start + i;
        }

        AttentionMask.Span[..(start + count)].Fill(1);
    }
}
