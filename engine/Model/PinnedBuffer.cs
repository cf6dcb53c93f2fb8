using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ChatCluster.Inference.Model;

/// <summary>
/// A growable array on the pinned object heap. ONNX Runtime reads and writes it in place through its address,
/// so a model step creates tensors over it without copying or pinning anything per call.
/// </summary>
internal sealed unsafe class PinnedBuffer<T> where T : unmanaged
{
    private T[] _array;

    public PinnedBuffer(int capacity = 0) => _array = GC.AllocateArray<T>(Math.Max(capacity, 16), pinned: true);

    public int Capacity => _array.Length;

    public Span<T> Span => _array;

    public IntPtr Address => (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));

    /// <summary>
    /// Grows to at least <paramref name="length"/> elements (doubling); contents are kept only if asked (the first
    /// <paramref name="preserveCount"/> elements, or all of them).
    /// </summary>
    public void EnsureCapacity(int length, bool preserve = false, int preserveCount = -1)
    {
        if (length <= _array.Length)
        {
            return;
        }

        var grown = GC.AllocateArray<T>(Math.Max(length, _array.Length * 2), pinned: true);
        if (preserve)
        {
            _array.AsSpan(0, preserveCount < 0 ? _array.Length : Math.Min(preserveCount, _array.Length)).CopyTo(grown);
        }

        _array = grown;
    }
}
