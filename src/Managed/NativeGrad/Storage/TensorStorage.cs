using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeGrad.Storage;

/// <summary>
/// The memory behind one or more tensors (a base and its views). Reference counted by its holders: each tensor
/// and each tensor saved for backward holds one reference; the last release returns the buffer to the pool.
/// When the holders are never disposed, the GC finalizes the storage and the buffer goes back to the pool then.
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
        // Never disposed. No tensor can reach this storage any more, so no new pointer into the array can be taken;
        // one taken before may still be in use by a kernel call on some thread, and then the array is in that
        // thread's in-flight ring: leave it to the GC. Otherwise it goes back to the pool, so forgetting Dispose
        // costs neither memory nor a fresh pinned allocation per tensor.
        if (_array is not { } array) return;
        if (InFlightArrays.Contains(array)) BufferPool.Forget(array.LongLength);
        else BufferPool.Return(array);
    }

    /// <summary>
    /// A stable pointer to the first byte (the array is pinned). The array stays reachable from this thread for
    /// the kernel call that follows (<see cref="InFlightArrays"/>), even if its tensor is collected or disposed
    /// meanwhile.
    /// </summary>
    public void* Pointer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var array = _array ?? throw new ObjectDisposedException(nameof(Tensor), "The tensor's storage was released.");
            InFlightArrays.Touch(array);
            return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)) + _offset;
        }
    }

    public bool IsReleased => Volatile.Read(ref _array) is null;

    public void Retain() => Interlocked.Increment(ref _holders);

    /// <summary>How many tensors (and saved tensors) hold this storage now.</summary>
    public int Holders => Volatile.Read(ref _holders);

    /// <summary>
    /// Takes a reference unless the storage was already released (a released storage is never revived): the
    /// buffer then cannot go back to the pool, and on to another tensor, before <see cref="Release"/>.
    /// </summary>
    public bool TryRetain()
    {
        int holders = Volatile.Read(ref _holders);
        while (holders > 0)
        {
            int seen = Interlocked.CompareExchange(ref _holders, holders + 1, holders);
            if (seen == holders) return !IsReleased || ReleaseAndFail();
            holders = seen;
        }
        return false;
    }

    private bool ReleaseAndFail()
    {
        Release();
        return false;
    }

    /// <summary>
    /// Holds the storage for a write into existing memory (in-place ops): a <c>Dispose</c> racing on another thread
    /// cannot hand the buffer to a new tensor while the write runs. Throws <see cref="ObjectDisposedException"/> if
    /// the storage is already released.
    /// </summary>
    public Lease Hold()
    {
        if (!TryRetain()) throw new ObjectDisposedException(nameof(Tensor), "The tensor's storage was released.");
        return new Lease(this);
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) != 0) return;
        var array = Interlocked.Exchange(ref _array, null);
        if (array is null) return;
        GC.SuppressFinalize(this);
        BufferPool.Return(array);
    }

    /// <summary>A reference taken by <see cref="Hold"/>, given back by Dispose.</summary>
    public readonly struct Lease(TensorStorage storage) : IDisposable
    {
        public void Dispose() => storage.Release();
    }
}

/// <summary>
/// The arrays whose pointers this thread handed out most recently. A kernel call takes raw pointers, and the JIT
/// may consider a tensor dead as soon as its pointer was read: without a reference somewhere, a GC during the
/// call (another thread allocating, or the P/Invoke transition) could collect an undisposed tensor's array while
/// native code still reads or writes it. Every operand of a call is among the last few pointers taken on the
/// calling thread, so a small ring of strong references keeps them alive until later calls push them out.
/// </summary>
internal static class InFlightArrays
{
    private const int Slots = 16; // far more operands than any single kernel call takes
    [ThreadStatic] private static byte[]?[]? _ring;
    [ThreadStatic] private static int _next;

    /// <summary>Every thread's ring (weakly: a ring dies with its thread), for <see cref="Contains"/>.</summary>
    private static readonly List<WeakReference<byte[]?[]>> Rings = [];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Touch(byte[] array)
    {
        var ring = _ring ?? NewRing();
        int last = (_next - 1) & (Slots - 1);
        if (ReferenceEquals(ring[last], array)) return;
        ring[_next] = array;
        _next = (_next + 1) & (Slots - 1);
    }

    private static byte[]?[] NewRing()
    {
        var ring = new byte[]?[Slots];
        lock (Rings)
        {
            Rings.RemoveAll(w => !w.TryGetTarget(out _));
            Rings.Add(new WeakReference<byte[]?[]>(ring));
        }
        return _ring = ring;
    }

    /// <summary>
    /// Whether a kernel call on any thread may still use <paramref name="array"/>. Called by the finalizer of an
    /// unreachable storage: the GC that found it unreachable ran after every Touch of its array, so the rings
    /// show them.
    /// </summary>
    public static bool Contains(byte[] array)
    {
        lock (Rings)
        {
            foreach (var weak in Rings)
            {
                if (!weak.TryGetTarget(out var ring)) continue;
                foreach (var entry in ring)
                    if (ReferenceEquals(entry, array)) return true;
            }
        }
        return false;
    }

    /// <summary>Drops this thread's references (used by <see cref="Diagnostics.TrimPool"/>).</summary>
    public static void Clear()
    {
        if (_ring is { } ring) Array.Clear(ring);
    }
}
