using System.Numerics;
using System.Runtime.CompilerServices;

namespace NativeGrad.Storage;

/// <summary>
/// Pools <see cref="TensorStorage"/> objects together with their pinned arrays, by power-of-two size class, so a
/// steady-state op allocates nothing: the result's storage (object and buffer) comes back from the last op that
/// freed one of its size. Small classes (up to 64 KiB) are cached per thread first, without locks or interlocked
/// operations; larger ones share one lock per class. The accounting counters are per thread too (summed on read).
/// </summary>
internal static class StoragePool
{
    /// <summary>Data pointers are aligned to a cache line (and so to any SIMD width we use).</summary>
    public const int Alignment = 64;
    private const int MinClassLog2 = 6;              // 64 bytes
    private const int MaxPooledClassLog2 = 30;       // buffers above 1 GiB are never pooled
    private const int MaxThreadCachedClassLog2 = 16; // 64 KiB: at most 8 x 128 KiB cached per thread
    private const int ThreadSlots = 8;
    private const long MaxRetainedBytesPerClass = 256L << 20;

    /// <summary>A size class's shared free list; guarded by locking the object itself.</summary>
    private sealed class SharedClass
    {
        public TensorStorage[] Items = new TensorStorage[4];
        public int Count;
        public long Bytes;
    }

    /// <summary>One thread's small-class free lists, written by that thread only; dropped whole when <see cref="Trim"/> bumps the epoch.</summary>
    internal sealed class ThreadCache
    {
        public readonly TensorStorage?[] Slots = new TensorStorage?[(MaxThreadCachedClassLog2 + 1) * ThreadSlots];
        public readonly int[] Counts = new int[MaxThreadCachedClassLog2 + 1];
        public readonly Counters Counters = NewCounters();
        public int Epoch;
        public int RentsSinceGcCheck;
        public long LiveAtMark;   // Counters.LiveBytes when CollectForgotten last looked
        public int GcCountAtMark; // the gen0 collection count then
        public long Buffers;
        public long Bytes;
    }

    /// <summary>One thread's share of the live counters (written by that thread only; may go negative when tensors die elsewhere).</summary>
    internal sealed class Counters
    {
        public long LiveBytes;
        public long LiveBuffers;

        /// <summary>Counts one storage rented (+1) or given back (-1) by this thread.</summary>
        public void Count(TensorStorage storage, int sign)
        {
            Volatile.Write(ref LiveBytes, LiveBytes + sign * storage.ArrayLength);
            Volatile.Write(ref LiveBuffers, LiveBuffers + sign);
        }
    }

    private static readonly SharedClass[] Shared = CreateShared();
    private static readonly List<Counters> AllCounters = [];               // kept for the process: the sums stay right after a thread ends
    private static readonly List<WeakReference<ThreadCache>> AllCaches = []; // a cache dies with its thread
    private static int _epoch;
    private static int _observedGcCount;

    /// <summary>The gen0 collection count as last observed (every 64 rents of a thread).</summary>
    internal static int ObservedGcCount => Volatile.Read(ref _observedGcCount);

    private static void ObserveGc() => Volatile.Write(ref _observedGcCount, GC.CollectionCount(0));

    private static int _forgottenAtGc = int.MinValue / 2; // the gen0 count when the finalizer last found a forgotten storage

    /// <summary>
    /// Whether the GC found storage of never-disposed tensors within the last two gen0 collections. Only then are
    /// promoted objects a risk worth an allocation (see <see cref="Rent"/>): a program that disposes everything keeps
    /// its pooled objects, and its tensors' objects, across collections and allocates nothing, also after a collection.
    /// </summary>
    /// <remarks>
    /// Read on every rent of a storage object older than the last collection (every rent, in a program that keeps its
    /// objects), so it compares against the observed count (a field) rather than asking the GC (a runtime call, which
    /// cost W1 ~100 ns per step); the observed count lags by at most 64 rents, which only widens the window.
    /// </remarks>
    internal static bool ForgottenRecently => ObservedGcCount - Volatile.Read(ref _forgottenAtGc) <= 2;

    private static void NoteForgotten()
    {
        Volatile.Write(ref _forgottenAtGc, GC.CollectionCount(0));
        Interlocked.Increment(ref _forgottenCount);
    }

    private static long _forgottenCount;

    /// <summary>How many storages of never-disposed tensors the GC has returned so far (for tests).</summary>
    internal static long ForgottenCount => Interlocked.Read(ref _forgottenCount);

    private static SharedClass[] CreateShared()
    {
        var classes = new SharedClass[MaxPooledClassLog2 + 1];
        for (int i = 0; i < classes.Length; i++) classes[i] = new SharedClass();
        return classes;
    }

    /// <summary>Bytes currently rented out (live tensor storage that has not been returned or collected).</summary>
    public static long LiveBytes => LiveTotals().Bytes;

    /// <summary>Buffers currently rented out.</summary>
    public static long LiveBuffers => LiveTotals().Buffers;

    private static (long Bytes, long Buffers) LiveTotals()
    {
        lock (AllCounters)
        {
            long bytes = 0, buffers = 0;
            foreach (var c in AllCounters)
            {
                bytes += Volatile.Read(ref c.LiveBytes);
                buffers += Volatile.Read(ref c.LiveBuffers);
            }
            return (bytes, buffers);
        }
    }

    /// <summary>Buffers held for reuse (shared lists and the current thread caches).</summary>
    public static long PooledBuffers => PooledTotals().Buffers;

    /// <summary>Bytes held for reuse.</summary>
    public static long PooledBytes => PooledTotals().Bytes;

    private static (long Buffers, long Bytes) PooledTotals()
    {
        long buffers = 0, bytes = 0;
        foreach (var c in Shared)
            lock (c) { buffers += c.Count; bytes += c.Bytes; }
        int epoch = Volatile.Read(ref _epoch);
        lock (AllCaches)
        {
            foreach (var weak in AllCaches)
            {
                if (!weak.TryGetTarget(out var cache) || Volatile.Read(ref cache.Epoch) != epoch) continue; // stale: dropped on its thread's next use
                buffers += Volatile.Read(ref cache.Buffers);
                bytes += Volatile.Read(ref cache.Bytes);
            }
        }
        return (buffers, bytes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ClassOf(long bytes)
    {
        long needed = Math.Max(bytes, 1L << MinClassLog2);
        return 64 - BitOperations.LeadingZeroCount((ulong)(needed - 1));
    }

    private static Counters NewCounters()
    {
        var counters = new Counters();
        lock (AllCounters) AllCounters.Add(counters);
        return counters;
    }

    private static ThreadCache MyCache() => CacheOf(ThreadState.Current);

    private static ThreadCache CacheOf(ThreadState state)
    {
        var cache = state.PoolCache ?? NewCache(state);
        if (cache.Epoch != Volatile.Read(ref _epoch)) Drop(cache);
        return cache;
    }

    private static ThreadCache NewCache(ThreadState state)
    {
        var cache = new ThreadCache { Epoch = Volatile.Read(ref _epoch) };
        lock (AllCaches)
        {
            AllCaches.RemoveAll(w => !w.TryGetTarget(out _));
            AllCaches.Add(new WeakReference<ThreadCache>(cache));
        }
        return state.PoolCache = cache;
    }

    private static void Drop(ThreadCache cache)
    {
        Array.Clear(cache.Slots);
        Array.Clear(cache.Counts);
        Volatile.Write(ref cache.Buffers, 0);
        Volatile.Write(ref cache.Bytes, 0);
        Volatile.Write(ref cache.Epoch, Volatile.Read(ref _epoch));
    }

    /// <summary>A storage of at least <paramref name="bytes"/> bytes, with no holders, 64-byte aligned.</summary>
    public static TensorStorage Rent(long bytes, ThreadState state)
    {
        // Checked first: `bytes + Alignment` must not wrap around (a wrapped size once allocated a few bytes for
        // a tensor of 2^61 elements).
        if (bytes < 0 || bytes > Array.MaxLength - Alignment)
            throw new OutOfMemoryException($"A tensor of {bytes} bytes is larger than a single .NET array can hold ({Array.MaxLength - Alignment} bytes).");
        int cls = ClassOf(bytes);
        TensorStorage? storage = null;
        var cache = CacheOf(state);
        if (cls <= MaxThreadCachedClassLog2)
        {
            int count = cache.Counts[cls];
            if (count > 0)
            {
                int slot = cls * ThreadSlots + count - 1;
                storage = cache.Slots[slot];
                cache.Slots[slot] = null;
                cache.Counts[cls] = count - 1;
                Volatile.Write(ref cache.Buffers, cache.Buffers - 1);
                Volatile.Write(ref cache.Bytes, cache.Bytes - storage!.ArrayLength);
            }
        }
        if (storage is null && cls <= MaxPooledClassLog2)
        {
            var shared = Shared[cls];
            lock (shared)
            {
                if (shared.Count > 0)
                {
                    storage = shared.Items[--shared.Count];
                    shared.Items[shared.Count] = null!;
                    shared.Bytes -= storage.ArrayLength;
                }
            }
        }
        if (storage is null)
        {
            long size = (cls <= MaxPooledClassLog2 ? 1L << cls : bytes) + Alignment;
            storage = new TensorStorage(GC.AllocateUninitializedArray<byte>((int)size, pinned: true), cls <= MaxPooledClassLog2 ? cls : -1);
        }
        else
        {
            if ((++cache.RentsSinceGcCheck & 63) == 0) ObserveGc();
            // A pooled object that outlived a collection is promoted: if the tensor it goes to now were never
            // disposed, only a gen1/gen2 collection would find it (and with it a pinned buffer), so a forgetful
            // program would grow to gigabytes between full collections. Give its buffer a new object instead: one
            // allocation per pooled storage per gen0 collection, while the program is seen forgetting tensors.
            if (storage.BornAtGc != ObservedGcCount && ForgottenRecently) storage = storage.Renewed();
        }
        storage.ByteLength = bytes;
        storage.HeldByThread = false;
        cache.Counters.Count(storage, +1);
        if (cache.Counters.LiveBytes - cache.LiveAtMark > ForgottenBytesPerCollection) CollectForgotten(cache);
        return storage;
    }

    /// <summary>Bytes a thread may rent beyond what it gave back, without a gen0 collection in between, before it makes one.</summary>
    internal const long ForgottenBytesPerCollection = 32L << 20;

    /// <summary>
    /// Storage of tensors nobody disposed comes back when the GC finds their objects, and gen0 collections come with
    /// small-object allocation: the fewer a program allocates per op, the more forgotten buffers wait between
    /// collections (a forgetful training loop sat at 300 MB instead of 190 once a step allocated 8 KB instead of 16).
    /// So a thread that rented 32 MB more than it gave back since a collection makes one. A loop that disposes its
    /// tensors never gets here; one whose live set really grows pays one gen0 collection per 32 MB.
    /// </summary>
    private static void CollectForgotten(ThreadCache cache)
    {
        int gcs = GC.CollectionCount(0);
        if (gcs == cache.GcCountAtMark)
        {
            GC.Collect(0, GCCollectionMode.Forced, blocking: true);
            gcs = GC.CollectionCount(0);
        }
        cache.GcCountAtMark = gcs;
        cache.LiveAtMark = cache.Counters.LiveBytes;
    }

    /// <summary>Takes back a storage whose last holder released it.</summary>
    public static void Return(TensorStorage storage, ThreadState state)
    {
        var cache = CacheOf(state);
        cache.Counters.Count(storage, -1);
        int cls = storage.SizeClass;
        if (cls < 0) return; // too large to keep: the GC takes it
        if (cls <= MaxThreadCachedClassLog2)
        {
            int count = cache.Counts[cls];
            if (count < ThreadSlots)
            {
                cache.Slots[cls * ThreadSlots + count] = storage;
                cache.Counts[cls] = count + 1;
                Volatile.Write(ref cache.Buffers, cache.Buffers + 1);
                Volatile.Write(ref cache.Bytes, cache.Bytes + storage.ArrayLength);
                return;
            }
        }
        ReturnShared(storage);
    }

    /// <summary>
    /// A storage nobody disposed, found unreachable by the GC: back to the shared lists (never a thread cache: this is
    /// the finalizer thread). <paramref name="forgotten"/>: user code dropped it (false for one a thread held and
    /// took with it when it ended).
    /// </summary>
    public static void ReturnFromFinalizer(TensorStorage storage, bool forgotten)
    {
        if (forgotten) NoteForgotten();
        MyCache().Counters.Count(storage, -1);
        GC.ReRegisterForFinalize(storage); // it ran, so it left the finalization queue; back in the pool it must be registered again
        if (storage.SizeClass >= 0) ReturnShared(storage);
    }

    /// <summary>A storage collected while a kernel call may still use its array: the array is left to the GC; the bytes are no longer live.</summary>
    public static void Forget(TensorStorage storage)
    {
        NoteForgotten();
        MyCache().Counters.Count(storage, -1);
    }

    private static void ReturnShared(TensorStorage storage)
    {
        var shared = Shared[storage.SizeClass];
        lock (shared)
        {
            if (shared.Bytes + storage.ArrayLength > MaxRetainedBytesPerClass) return; // the GC takes it
            if (shared.Count == shared.Items.Length) Array.Resize(ref shared.Items, shared.Count * 2);
            shared.Items[shared.Count++] = storage;
            shared.Bytes += storage.ArrayLength;
        }
    }

    /// <summary>
    /// Drops every pooled storage so the GC can reclaim it: the shared lists and this thread's cache at once; other
    /// threads' caches stop counting now and are dropped the next time their thread rents or returns storage.
    /// </summary>
    public static void Trim()
    {
        Interlocked.Increment(ref _epoch);
        if (ThreadState.Current.PoolCache is { } cache) Drop(cache);
        foreach (var c in Shared)
        {
            lock (c)
            {
                Array.Clear(c.Items);
                c.Count = 0;
                c.Bytes = 0;
            }
        }
    }
}
