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

    /// <summary>Reserves exactly slot <paramref name="slot"/> for a one-row sequence; false when it is taken or out of range.</summary>
    public bool TryReserveAt(Sequence sequence, int slot)
    {
        if (sequence.Rows != 1 || slot >= _owner.Length || _owner[slot] is not null)
        {
            return false;
        }

        _slots.EnsureSlots(slot + 1);
        _owner[slot] = sequence;
        _firstSlot[sequence] = slot;
        return true;
    }

    public int FirstSlotOf(Sequence sequence) => _firstSlot[sequence];

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
        io.FillChunk(sequence.Tokens, start, count, _model.VocabSize);
        _slots.EnsureLength(start + count);
        _model.RunInPlace(io, 1, count, start + count, _slots, _firstSlot[sequence]);
        sequence.Computed = start + count;
    }

    /// <summary>
    /// Prefills whole new prompts of one-row sequences in consecutive slots (group[b] in the first slot + b), from
    /// empty caches, in one call: rows right-padded to the longest, (n, longest) ids and mask, pads at position 0.
    /// GroupQueryAttention's first-prompt case takes each row's length from its mask, so pads are never attended
    /// to; their keys land past the row's length, where decoding overwrites them. On return row b's last prompt
    /// logits are at (b * longest + length_b - 1) of io.Logits, and each sequence's Computed is its prompt length.
    /// </summary>
    public void PrefillGroup(List<Sequence> group, int longest, ModelStepBuffers io)
    {
        var n = group.Count;
        io.Reserve(n, longest, 0, _model.VocabSize);
        var ids = io.InputIds.Span;
        var positions = io.PositionIds.Span;
        var mask = io.AttentionMask.Span;
        for (var b = 0; b < n; b++)
        {
            var tokens = group[b].Tokens;
            for (var i = 0; i < longest; i++)
            {
                var at = (b * longest) + i;
                (ids[at], positions[at], mask[at]) = i < tokens.Count ? (tokens[i], i, 1L) : (0L, 0L, 0L);
            }
        }

        _slots.EnsureLength(longest);
        _model.RunInPlace(io, n, longest, longest, _slots, _firstSlot[group[0]]);
        foreach (var s in group)
        {
            s.Computed = s.Tokens.Count;
        }
    }

    /// <summary>Copies a not-yet-joined sequence's prompt cache (its first slot) into <paramref name="target"/>.</summary>
    public KvCache ExtractPrompt(Sequence sequence, KvCache target) => _slots.CopyOut(_firstSlot[sequence], sequence.Computed, target);
}
