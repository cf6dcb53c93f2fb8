using ChatCluster.Inference.Model;

namespace ChatCluster.Inference.Scheduling;

/// <summary>
/// The rows that decode together on an Optimum graph (past in, a new present out), and their KV cache. Rows are left-padded to a common length L: row r's
/// sequence holds its <c>Computed</c> tokens at positions [L - Computed, L) and the attention mask hides the
/// rest. Because every row then appends at L, a decode step feeds the present of the last step back as its
/// past with no copy on our side (two caches swap roles each step). A joiner's row is copied in when it joins,
/// rows after a leaver move down one block when it leaves, and every row is copied only when the common length
/// must change (<see cref="Rebuild"/>) or a beam search reorders its beams (<see cref="ReorderBeams"/>).
/// </summary>
internal sealed class PaddedDecodeBatch(DecoderModel model) : DecodeBatch
{
    private readonly List<Sequence> _sequences = [];
    private readonly List<Sequence> _kept = [];
    private readonly ModelStepBuffers _io = new();
    private KvCache _cache = new(model.KvShape);
    private KvCache _spare = new(model.KvShape);
    private KvCache _beamScratch = new(model.KvShape);

    /// <summary>Rows are re-laid at a shorter length when more than 1/PaddingShare of every row would be padding.</summary>
    private const int PaddingShare = 8;

    public override List<Sequence> Sequences => _sequences;

    /// <summary>Pinned memory of the batch cache and its spare (they swap roles when rows join or leave).</summary>
    public override long CacheCapacityBytes => _cache.CapacityBytes + _spare.CapacityBytes;

    /// <summary>
    /// Drops finished and cancelled sequences and appends <paramref name="joining"/> ones (each with its row of a
    /// prefill cache, its tokens right-aligned there). Returns whether anything changed.
    /// In place when it can: rows that stay keep their place (each row after a leaver moves down, one block copy
    /// per row and tensor) and joiners are appended at the current length L, so a join copies only the joiner's own row.
    /// Every row is copied into the spare cache at a new length only when a joiner is longer than L, or when the
    /// rows that stay are so much shorter than L that their left padding would cost more than the copy.
    /// </summary>
    public override bool Rebuild(IReadOnlyList<(Sequence Sequence, KvCache? Cache, int Row)> joining)
    {
        var leaving = _sequences.Exists(static s => s.IsDone);
        if (!leaving && joining.Count == 0)
        {
            return false;
        }

        var longest = 0;
        var staying = 0;
        foreach (var s in _sequences)
        {
            if (!s.IsDone)
            {
                longest = Math.Max(longest, s.Computed);
                staying += s.Rows;
            }
        }

        var rows = staying;
        foreach (var (s, _, _) in joining)
        {
            longest = Math.Max(longest, s.Computed);
            rows += s.Rows;
        }

        var length = _cache.Length;
        var inPlace = staying > 0 && longest <= length && (length - longest) * PaddingShare <= length;
        if (!inPlace)
        {
            length = longest;
            _spare.Resize(rows, length);
        }

        var target = 0;
        var source = 0;
        var kept = _kept;
        kept.Clear();
        foreach (var s in _sequences)
        {
            if (!s.IsDone)
            {
                for (var b = 0; b < s.Rows; b++, target++)
                {
                    if (!inPlace)
                    {
                        _cache.CopyRowTo(source + b, _cache.Length - s.Computed, s.Computed, _spare, target, length - s.Computed);
                    }
                    else if (source + b != target)
                    {
                        _cache.MoveRow(source + b, target);
                    }
                }

                kept.Add(s);
            }

            source += s.Rows;
        }

        var into = _spare;
        if (inPlace)
        {
            _cache.ResizeRows(rows);
            into = _cache;
        }

        foreach (var (s, own, row) in joining)
        {
            // A beam search's rows all start from the one prompt cache.
            for (var b = 0; b < s.Rows; b++)
            {
                own!.CopyRowTo(row, own.Length - s.Computed, s.Computed, into, target++, length - s.Computed);
            }

            s.State = SequenceState.Running;
            kept.Add(s);
        }

        _sequences.Clear();
        _sequences.AddRange(kept);
        if (!inPlace)
        {
            (_cache, _spare) = (_spare, _cache);
        }

        Rows = rows;
        return true;
    }

    public override void Step()
    {
        var rows = Rows;
        var past = _cache.Length;
        _io.Reserve(rows, 1, past, model.VocabSize);
        var ids = _io.InputIds.Span;
        var positions = _io.PositionIds.Span;
        var mask = _io.AttentionMask.Span[..(rows * (past + 1))];
        var row = 0;
        foreach (var s in _sequences)
        {
            for (var b = 0; b < s.Rows; b++, row++)
            {
                ids[row] = s.NextTokens[b];
                positions[row] = s.Computed;
                var rowMask = mask.Slice(row * (past + 1), past + 1);
                rowMask[..(past - s.Computed)].Clear();
                rowMask[(past - s.Computed)..].Fill(1);
            }
        }

        model.Run(_io, rows, 1, _cache, _spare);
        (_cache, _spare) = (_spare, _cache);
        foreach (var s in _sequences)
        {
            s.Computed++;
        }
    }

    public override Span<float> RowLogits(int row) => _io.Logits.Span.Slice(row * model.VocabSize, model.VocabSize);

    public override Span<float> BlockLogits(int firstRow, int count) =>
        _io.Logits.Span.Slice(firstRow * model.VocabSize, count * model.VocabSize);

    public override void ReorderBeams(int firstRow, ReadOnlySpan<int> parents)
    {
        var k = parents.Length;
        var identity = true;
        for (var i = 0; i < k; i++)
        {
            identity &= parents[i] == i;
        }

        if (identity)
        {
            return;
        }

        _beamScratch.Resize(k, _cache.Length);
        for (var i = 0; i < k; i++)
        {
            _cache.CopyRowTo(firstRow + parents[i], 0, _cache.Length, _beamScratch, i, 0);
        }

        for (var i = 0; i < k; i++)
        {
            _beamScratch.CopyRowTo(i, 0, _cache.Length, _cache, firstRow + i, 0);
        }
    }

    public override KvCache ExtractRow(int row, int computed, KvCache target)
    {
        target.Resize(1, computed);
        _cache.CopyRowTo(row, _cache.Length - computed, computed, target, 0, 0);
        return target;
    }
}
