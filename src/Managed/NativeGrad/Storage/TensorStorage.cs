using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeGrad.Storage;

/// <summary>
/// The memory behind one or more tensors (a base and its views). Reference counted by its holders: each tensor
/// and each tensor saved for backward holds one reference; the last release returns the buffer to the pool.
/// Holders that are never disposed are collected by the GC together with the buffer.
/// </summary>
internal sealed unsafe class TensorStorage
{
    private byte[]? _array;
    private readonly int _offset;
    private int _holders;

    /// <summary>Size in bytes usable by tensors.</summary>
    public long ByteLength { get; }

    /// <summary>Bumped by every in-place write, so saved tensors can tell that they were modified.</summary>
    public int Version;

    public TensorStorage(long byteLength)
    {
        ByteLength = byteLength;
        _array = BufferPool.Rent(byteLength, out _offset);
        _holders = 0;
    }

    ~TensorStorage()
    {
        // Never disposed: the array goes with us to the GC; only the accounting needs fixing.
        if (_array is not null) BufferPool.Forget(_array.LongLength);
    }

    /// <summary>A stable pointer to the first byte (the array is pinned).</summary>
    public void* Pointer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var array = _array ?? throw new ObjectDisposedException(nameof(Tensor), "The tensor's storage was released.");
            return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)) + _offset;
        }
    }

    public bool IsReleased => _array is null;

    public void Retain() => Interlocked.Increment(ref _holders);

    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) != 0) return;
        var array = Interlocked.Exchange(ref _array, null);
        if (array is null) return;
        GC.SuppressFinalize(this);
        BufferPool.Return(array);
    }
}
