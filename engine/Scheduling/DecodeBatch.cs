using ChatCluster.Inference.Model;

namespace ChatCluster.Inference.Scheduling;

/// <summary>
/// The rows that decode together and their KV cache, in one of two layouts chosen by the model's graph:
/// <see cref="PaddedDecodeBatch"/> (Optimum graph: left-padded rows, a new present each step) or
/// <see cref="SlotDecodeBatch"/> (fused graph: one right-padded slot per row, updated in place).
/// Rows are numbered in <see cref="Sequences"/> order, each sequence taking <c>Rows</c> consecutive rows.
/// </summary>
internal abstract class DecodeBatch
{
    /// <summary>The sequences with rows, in row order (a List, so that the loop's foreach does not box an enumerator).</summary>
    public abstract List<Sequence> Sequences { get; }

    public int Rows { get; protected set; }

    /// <summary>Pinned memory the batch's KV buffers hold.</summary>
    public abstract long CacheCapacityBytes { get; }

    public static DecodeBatch For(DecoderModel model, SchedulerOptions options) =>
        model.SharesKvBuffer ? new SlotDecodeBatch(model, options.MaxBatchRows) : new PaddedDecodeBatch(model);

    /// <summary>
    /// Drops finished and cancelled sequences and appends <paramref name="joining"/> ones, whose prompts are in
    /// the given row of a prefill cache (padded layout) or already in their own slots (slot layout: no cache).
    /// Returns whether anything changed.
    /// </summary>
    public abstract bool Rebuild(IReadOnlyList<(Sequence Sequence, KvCache? Cache, int Row)> joining);

    /// <summary>
    /// One decode step: every row feeds its current token; on return <see cref="RowLogits"/> has each row's
    /// next-token logits and each sequence's <c>Computed</c> has grown by one.
    /// </summary>
    public abstract void Step();

    /// <summary>Logits of one row after <see cref="Step"/>: (vocab).</summary>
    public abstract Span<float> RowLogits(int row);

    /// <summary>Logits of a block of rows: (count, vocab).</summary>
    public abstract Span<float> BlockLogits(int firstRow, int count);

    /// <summary>After a beam step: row firstRow + i becomes a copy of row firstRow + parents[i].</summary>
    public abstract void ReorderBeams(int firstRow, ReadOnlySpan<int> parents);

    /// <summary>Copies one row's cache (its valid positions only) into <paramref name="target"/>, for keeping after the turn.</summary>
    public abstract KvCache ExtractRow(int row, int computed, KvCache target);
}
