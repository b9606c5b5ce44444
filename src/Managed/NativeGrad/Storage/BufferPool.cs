using System.Numerics;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeGrad.Storage;

/// <summary>
/// Memory for tensor data: arrays on the pinned object heap, pooled by power-of-two size class.
/// Pinned arrays give native code stable pointers without GCHandles, and the GC still sees them: a buffer whose
/// tensor was never disposed comes back through the storage's finalizer (or is collected): never a leak.
/// </summary>
internal static class BufferPool
{
    /// <summary>Data pointers are aligned to a cache line (and so to any SIMD width we use).</summary>
    public const int Alignment = 64;
    private const int MinClassLog2 = 6;              // 64 bytes
    private const int MaxPooledClassLog2 = 30;       // buffers above 1 GiB are never pooled
    private const long MaxRetainedBytesPerClass = 256L << 20;

    private static readonly ConcurrentStack<byte[]>[] Classes = CreateClasses();
    private static readonly long[] RetainedBytes = new long[MaxPooledClassLog2 + 1];
    private static long _liveBytes;
    private static long _liveBuffers;
    private static long _pooledBuffers;

    private static ConcurrentStack<byte[]>[] CreateClasses()
    {
        var classes = new ConcurrentStack<byte[]>[MaxPooledClassLog2 + 1];
        for (int i = 0; i < classes.Length; i++) classes[i] = new ConcurrentStack<byte[]>();
        return classes;
    }

    /// <summary>Bytes currently rented out (live tensor storage that has not been returned or collected).</summary>
    public static long LiveBytes => Interlocked.Read(ref _liveBytes);

    /// <summary>Buffers currently rented out.</summary>
    public static long LiveBuffers => Interlocked.Read(ref _liveBuffers);

    /// <summary>Buffers held by the pool for reuse.</summary>
    public static long PooledBuffers => Interlocked.Read(ref _pooledBuffers);

    /// <summary>Bytes held by the pool for reuse.</summary>
    public static long PooledBytes
    {
        get
        {
            long total = 0;
            for (int i = 0; i < RetainedBytes.Length; i++) total += Interlocked.Read(ref RetainedBytes[i]);
            return total;
        }
    }

    private static int ClassOf(long bytes)
    {
        long needed = Math.Max(bytes, 1L << MinClassLog2);
        return 64 - BitOperations.LeadingZeroCount((ulong)(needed - 1));
    }

    /// <summary>Rents an array able to hold <paramref name="bytes"/> bytes at a 64-byte aligned offset.</summary>
    public static byte[] Rent(long bytes, out int alignedOffset)
    {
        // Checked first: `bytes + Alignment` must not wrap around (a wrapped size once allocated a few bytes for
        // a tensor of 2^61 elements).
        if (bytes < 0 || bytes > Array.MaxLength - Alignment)
            throw new OutOfMemoryException($"A tensor of {bytes} bytes is larger than a single .NET array can hold ({Array.MaxLength - Alignment} bytes).");
        int cls = ClassOf(bytes);
        byte[]? array = null;
        if (cls <= MaxPooledClassLog2 && Classes[cls].TryPop(out array))
        {
            Interlocked.Add(ref RetainedBytes[cls], -array.LongLength);
            Interlocked.Decrement(ref _pooledBuffers);
        }
        if (array is null)
        {
            long size = (cls <= MaxPooledClassLog2 ? 1L << cls : bytes) + Alignment;
            array = GC.AllocateUninitializedArray<byte>((int)size, pinned: true);
        }
        Interlocked.Add(ref _liveBytes, array.LongLength);
        Interlocked.Increment(ref _liveBuffers);
        alignedOffset = AlignedOffset(array);
        return array;
    }

    /// <summary>Gives a rented array back for reuse.</summary>
    public static void Return(byte[] array)
    {
        Interlocked.Add(ref _liveBytes, -array.LongLength);
        Interlocked.Decrement(ref _liveBuffers);
        int cls = ClassOf(array.LongLength - Alignment);
        if (cls > MaxPooledClassLog2 || (1L << cls) + Alignment != array.LongLength) return;
        if (Interlocked.Add(ref RetainedBytes[cls], array.LongLength) > MaxRetainedBytesPerClass)
        {
            Interlocked.Add(ref RetainedBytes[cls], -array.LongLength);
            return; // the GC takes it
        }
        Interlocked.Increment(ref _pooledBuffers);
        Classes[cls].Push(array);
    }

    /// <summary>Called when a storage was collected without being disposed and its array is left to the GC: the bytes are no longer live.</summary>
    public static void Forget(long arrayLength)
    {
        Interlocked.Add(ref _liveBytes, -arrayLength);
        Interlocked.Decrement(ref _liveBuffers);
    }

    /// <summary>Drops every pooled array so the GC can reclaim it.</summary>
    public static void Trim()
    {
        for (int i = 0; i < Classes.Length; i++)
        {
            while (Classes[i].TryPop(out var a))
            {
                Interlocked.Add(ref RetainedBytes[i], -a.LongLength);
                Interlocked.Decrement(ref _pooledBuffers);
            }
        }
    }

    private static unsafe int AlignedOffset(byte[] array)
    {
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (int)((Alignment - (address & (Alignment - 1))) & (Alignment - 1));
    }
}
