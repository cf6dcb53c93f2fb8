using ChatCluster.Inference.Model;

namespace ChatCluster.Inference.Scheduling;

/// <summary>A sequence's slots from admission until it joins: reserved, restored from a kept cache, prefilled in place.</summary>
internal sealed partial class SlotDecodeBatch
{
    /// <summary>Reserves <c>sequence.Rows</c> consecutive free slots, lowest first; false when there are none.</summary>
    public bool TryReserve(Sequence sequence)
    {
        var run = 0;
        for (var slot = 0; slot < _owner.Length; slot++)
        {
            run = _owner[slot] is null ? run + 1 : 0;
            if (run == sequence.Rows)
            {
                var first = slot - run + 1;
                _slots.EnsureSlots(first + run);
                for (var b = 0; b < run; b++)
                {
                    _owner[first + b] = sequence;
                }

                _firstSlot[sequence] = first;
                return true;
            }
        }

        return false;
    }

    /// <summary>Frees a sequence's slots (it ended, or failed or was cancelled before joining).</summary>
    public void Release(Sequence sequence)
    {
        if (_firstSlot.Remove(sequence, out var first))
        {
            Array.Clear(_owner, first, sequence.Rows);
        }
    }

    /// <summary>Copies positions [0, <paramref name="count"/>) of a kept (1, H, length, D) cache into the sequence's first slot.</summary>
    public void Restore(Sequence sequence, KvCache kept, int count) => _slots.CopyIn(kept, 0, 0, count, _firstSlot[sequence]);

    /// <summary>
    /// Runs the sequence's next <paramref name="count"/> prompt tokens as a batch-1 view of its first slot (the keys
    /// of earlier chunks or a restored cache are already there). On return <paramref name="io"/>'s logits hold
    /// (count, V) and <c>Computed</c> has grown by <paramref name="count"/>.
    /// </summary>
    public void Prefill(Sequence sequence, int count, ModelStepBuffers io)
    {
        var start = sequence.Computed;
        io.Reserve(1, count, start, _model.VocabSize);
        var ids = io.InputIds.Span;
        var positions = io.PositionIds.Span;
        for (var i = 0; i < count; i++)
        {
            ids[i] = sequence.Tokens[start + i];
            positions[i] = start + i;
        }

        io.AttentionMask.Span[..(start + count)].Fill(1);
        _model.RunInPlace(io, 1, count, start + count, _slots, _firstSlot[sequence]);
        sequence.Computed = start + count;
    }

    /// <summary>Copies a not-yet-joined sequence's prompt cache (its first slot) into <paramref name="target"/>.</summary>
    public KvCache ExtractPrompt(Sequence sequence, KvCache target) => _slots.CopyOut(_firstSlot[sequence], sequence.Computed, target);
}
