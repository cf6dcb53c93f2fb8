using ChatCluster.Inference.Model;

namespace ChatCluster.Inference.Scheduling;

/// <summary>
/// The rows that decode together on a fused graph (<see cref="DecoderModel.SharesKvBuffer"/>): every sequence owns
/// one slot of a <see cref="KvSlots"/> buffer per row (a beam search k consecutive slots) from admission to its
/// end. Its prompt is prefilled in place there (SlotDecodeBatch.Prefill.cs), a decode step appends to every slot
/// in place, so a sequence that joins or leaves moves no other row and no step copies the cache.
/// A decode call covers slots [0, H) with H the highest running slot + 1, all in one call. Slots in that range
/// that are not running (free, or a prompt being prefilled) are holes: they are fed a dummy token whose keys go
/// to the spare last position of their slot, and their logits are ignored. Slots are handed out lowest first,
/// so holes stay few; each costs one row of the step's matmuls.
/// </summary>
internal sealed partial class SlotDecodeBatch : DecodeBatch
{
    private readonly DecoderModel _model;
    private readonly KvSlots _slots;
    private readonly ModelStepBuffers _io = new();
    private readonly Dictionary<Sequence, int> _firstSlot = [];
    private readonly Sequence?[] _owner;     // (max rows): the sequence holding each slot, running or prefilling
    private readonly bool[] _running;        // (max rows): whether a slot decodes in the next step
    private readonly int[] _rowSlot;         // (max rows): row (Sequences order) -> slot
    private List<Sequence> _sequences = [];
    private List<Sequence> _kept = [];
    private int _callRows;

    /// <summary>Tokens a slot holds before the slots first grow (they double from there, up to the context window).</summary>
    private const int InitialSlotLength = 127;

    public SlotDecodeBatch(DecoderModel model, int maxRows)
    {
        _model = model;
        _slots = new KvSlots(model.KvShape, model.Config.ContextWindow, initialLength: InitialSlotLength);
        _owner = new Sequence?[maxRows];
        _running = new bool[maxRows];
        _rowSlot = new int[maxRows];
    }

    public override List<Sequence> Sequences => _sequences;

    public override long CacheCapacityBytes => _slots.CapacityBytes;

    public override bool Rebuild(IReadOnlyList<(Sequence Sequence, KvCache? Cache, int Row)> joining)
    {
        var leaving = _sequences.Exists(static s => s.IsDone);
        if (!leaving && joining.Count == 0)
        {
            return false;
        }

        _kept.Clear();
        foreach (var s in _sequences)
        {
            if (s.IsDone)
            {
                Release(s);
            }
            else
            {
                _kept.Add(s);
            }
        }

        foreach (var (s, _, _) in joining)
        {
            // A beam search's prompt was prefilled in its first slot; its other beams start as copies.
            var first = _firstSlot[s];
            for (var b = 1; b < s.Rows; b++)
            {
                _slots.CopySlot(first, first + b, s.Computed);
            }

            s.State = SequenceState.Running;
            _kept.Add(s);
        }

        (_sequences, _kept) = (_kept, _sequences);
        Array.Clear(_running);
        var row = 0;
        _callRows = 0;
        foreach (var s in _sequences)
        {
            var first = _firstSlot[s];
            for (var b = 0; b < s.Rows; b++, row++)
            {
                _rowSlot[row] = first + b;
                _running[first + b] = true;
            }

            _callRows = Math.Max(_callRows, first + s.Rows);
        }

        Rows = row;
        return true;
    }

    public override void Step()
    {
        var callRows = _callRows;
        var longest = 0;
        foreach (var s in _sequences)
        {
            longest = Math.Max(longest, s.Computed);
        }

        // After this step the longest row holds longest + 1 tokens. A hole's mask is all ones, so the graph's
        // seqlens_k sends its keys to the spare position Capacity - 1.
        _slots.EnsureLength(longest + 1);
        var width = callRows > Rows ? _slots.Capacity : longest + 1;
        _io.Reserve(callRows, 1, width - 1, _model.VocabSize);
        var ids = _io.InputIds.Span;
        var positions = _io.PositionIds.Span;
        var mask = _io.AttentionMask.Span[..(callRows * width)];
        if (callRows > Rows)
        {
            for (var slot = 0; slot < callRows; slot++)
            {
                if (!_running[slot])
                {
                    (ids[slot], positions[slot]) = (0, 0);
                    mask.Slice(slot * width, width).Fill(1);
                }
            }
        }

        foreach (var s in _sequences)
        {
            var first = _firstSlot[s];
            for (var b = 0; b < s.Rows; b++)
            {
                var slot = first + b;
                ids[slot] = s.NextTokens[b];
                positions[slot] = s.Computed;
                var rowMask = mask.Slice(slot * width, width);
                rowMask[..(s.Computed + 1)].Fill(1);
                rowMask[(s.Computed + 1)..].Clear();
            }
        }

        _model.RunInPlace(_io, callRows, 1, width, _slots, 0);
        foreach (var s in _sequences)
        {
            s.Computed++;
        }
    }

    public override Span<float> RowLogits(int row) => _io.Logits.Span.Slice(_rowSlot[row] * _model.VocabSize, _model.VocabSize);

    /// <summary>A sequence's rows are consecutive slots, so its block of rows is a block of the call's logits.</summary>
    public override Span<float> BlockLogits(int firstRow, int count) =>
        _io.Logits.Span.Slice(_rowSlot[firstRow] * _model.VocabSize, count * _model.VocabSize);

    /// <summary>Copies the beams' slots that change (see <see cref="KvSlots.Reorder"/> for the cost); other rows stay.</summary>
    public override void ReorderBeams(int firstRow, ReadOnlySpan<int> parents)
    {
        var first = _rowSlot[firstRow];
        _slots.Reorder(first, parents, _owner[first]!.Computed);
    }

    public override KvCache ExtractRow(int row, int computed, KvCache target) => _slots.CopyOut(_rowSlot[row], computed, target);
}
