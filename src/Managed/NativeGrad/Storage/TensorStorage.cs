using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeGrad.Storage;

/// <summary>
/// The memory behind one or more tensors (a base and its views): a pinned array from <see cref="StoragePool"/>,
/// kept with this object for its whole life, so both are reused together. Reference counted by its holders: each
/// tensor and each tensor saved for backward holds one reference; the last release returns the storage to the pool.
/// Each rental has its own <see cref="Generation"/>: a holder from an earlier rental (a tensor disposed on another
/// thread meanwhile) can never take a reference to the next one. When the holders are never disposed, the GC
/// finalizes the storage and it goes back to the pool then. A storage stays registered for finalization for its
/// whole life (no SuppressFinalize/ReRegisterForFinalize per rental: ~10 ns per op).
/// </summary>
internal sealed unsafe class TensorStorage
{
    private const long HolderMask = 0xFFFF_FFFFL;
    private readonly byte[] _array;
    private readonly int _offset;
    private long _state; // generation << 32 | holders

    internal TensorStorage(byte[] array, int sizeClass)
    {
        _array = array;
        SizeClass = sizeClass;
        BornAtGc = StoragePool.ObservedGcCount;
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        _offset = (int)((StoragePool.Alignment - (address & (StoragePool.Alignment - 1))) & (StoragePool.Alignment - 1));
    }

    /// <summary>Size in bytes usable by tensors (of this rental).</summary>
    public long ByteLength { get; internal set; }

    /// <summary>The gen0 collection count the pool had seen when this object was made (see <see cref="StoragePool"/>'s renewal).</summary>
    internal readonly int BornAtGc;

    /// <summary>A fresh (generation 0) storage object for this one's array; this object is dropped, never to be finalized.</summary>
    internal TensorStorage Renewed()
    {
        GC.SuppressFinalize(this);
        return new TensorStorage(_array, SizeClass);
    }

    /// <summary>
    /// True for a storage NativeGrad itself holds for a thread (the implicit root gradient): when the thread ends and
    /// the GC finds it, that is not user code forgetting tensors (see <see cref="StoragePool.ForgottenRecently"/>).
    /// Cleared by the next rental.
    /// </summary>
    internal bool HeldByThread;

    /// <summary>The pool's size class (-1: too large to pool).</summary>
    internal int SizeClass { get; }

    /// <summary>The length of the whole array (what the pool counts).</summary>
    internal long ArrayLength => _array.LongLength;

    /// <summary>Bumped by every in-place write, so saved tensors can tell that they were modified.</summary>
    public int Version;

    /// <summary>Which rental this is; tensors remember it when they take their reference.</summary>
    public int Generation => (int)(Volatile.Read(ref _state) >> 32);

    ~TensorStorage()
    {
        // Never disposed. No tensor can reach this storage any more, so no new pointer into the array can be taken;
        // one taken before may still be in use by a kernel call on some thread, and then the array is in that
        // thread's in-flight ring: leave it to the GC. Otherwise it goes back to the pool, so forgetting Dispose
        // costs neither memory nor a fresh pinned allocation per tensor.
        long state = Volatile.Read(ref _state);
        if ((state & HolderMask) == 0) return; // released and then dropped by the pool (trimmed or over its cap): nothing to do
        Volatile.Write(ref _state, (state & ~HolderMask) + (1L << 32)); // released: a new generation, no holders
        if (InFlightArrays.Contains(_array)) StoragePool.Forget(this);
        else StoragePool.ReturnFromFinalizer(this, forgotten: !HeldByThread);
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
            InFlightArrays.Touch(_array);
            return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array)) + _offset;
        }
    }

    /// <summary>The byte at <paramref name="offset"/> from the start, as a managed reference (for a read in managed code; no pointer escapes).</summary>
    public ref byte ByteAt(long offset) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_array), (nint)(_offset + offset));

    /// <summary><see cref="Pointer"/> with this thread's state already at hand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* PointerOn(ThreadState state)
    {
        InFlightArrays.Touch(_array, state);
        return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array)) + _offset;
    }

    /// <summary>The first holder of a freshly rented storage (nobody else can see it yet). Returns the generation.</summary>
    internal int AttachFirst()
    {
        long state = _state + 1;
        Volatile.Write(ref _state, state);
        return (int)(state >> 32);
    }

    /// <summary>How many tensors (and saved tensors) hold this storage now.</summary>
    public int Holders => (int)(Volatile.Read(ref _state) & HolderMask);

    /// <summary>
    /// Takes a reference if the storage is still in rental <paramref name="generation"/> (a released storage is
    /// never revived, and a storage rented out again belongs to someone else).
    /// </summary>
    public bool TryRetain(int generation)
    {
        long state = Volatile.Read(ref _state);
        while ((int)(state >> 32) == generation && (state & HolderMask) != 0)
        {
            long seen = Interlocked.CompareExchange(ref _state, state + 1, state);
            if (seen == state) return true;
            state = seen;
        }
        return false;
    }

    /// <summary>
    /// Holds the storage for a write into existing memory (in-place ops): a <c>Dispose</c> racing on another thread
    /// cannot hand the buffer to a new tensor while the write runs. Throws <see cref="ObjectDisposedException"/> if
    /// the storage was released.
    /// </summary>
    public Lease Hold(int generation)
    {
        if (!TryRetain(generation)) throw new ObjectDisposedException(nameof(Tensor), "The tensor's storage was released.");
        return new Lease(this);
    }

    /// <summary>Drops one reference; the last one starts a new generation and returns the storage to the pool.</summary>
    public void Release() => Release(ThreadState.Current);

    /// <inheritdoc cref="Release()"/>
    public void Release(ThreadState thread)
    {
        long state = Volatile.Read(ref _state);
        while (true)
        {
            if ((state & HolderMask) == 0) return; // over-released: never twice into the pool
            long next = (state & HolderMask) == 1 ? (state & ~HolderMask) + (1L << 32) : state - 1;
            long seen = Interlocked.CompareExchange(ref _state, next, state);
            if (seen != state) { state = seen; continue; }
            if ((next & HolderMask) != 0) return;
            StoragePool.Return(this, thread); // stays registered for finalization: pooled it is reachable, and dropped by the pool it finds no holders
            return;
        }
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
    /// <summary>A thread's ring and cursor in one object (one thread-static read per touch).</summary>
    internal sealed class Ring
    {
        public readonly byte[]?[] Entries = new byte[]?[Slots];
        public int Next;
    }

    /// <summary>Every thread's ring (weakly: a ring dies with its thread), for <see cref="Contains"/>.</summary>
    private static readonly List<WeakReference<byte[]?[]>> Rings = [];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Touch(byte[] array) => Touch(array, ThreadState.Current);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Touch(byte[] array, ThreadState state)
    {
        var ring = state.Ring ?? NewRing(state);
        var entries = ring.Entries;
        int next = ring.Next;
        if (ReferenceEquals(entries[(next - 1) & (Slots - 1)], array)) return;
        entries[next] = array;
        ring.Next = (next + 1) & (Slots - 1);
    }

    private static Ring NewRing(ThreadState state)
    {
        var ring = new Ring();
        lock (Rings)
        {
            Rings.RemoveAll(w => !w.TryGetTarget(out _));
            Rings.Add(new WeakReference<byte[]?[]>(ring.Entries));
        }
        return state.Ring = ring;
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
        if (ThreadState.Current.Ring is { } ring) Array.Clear(ring.Entries);
    }
}
