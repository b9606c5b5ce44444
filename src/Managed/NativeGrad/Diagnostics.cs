using NativeGrad.Storage;

namespace NativeGrad;

/// <summary>
/// Memory accounting of tensor storage. Tensor data lives in pinned arrays rented from a pool (by power-of-two size
/// class, 64 bytes of alignment slack each); these counters tell how much is rented out and how much the pool keeps
/// for reuse. Use them to check that a loop does not leak: live bytes go back to their earlier value once the
/// tensors of an iteration are disposed (or their <see cref="TensorScope"/> ends, or the GC finalized the ones
/// nobody disposed).
/// </summary>
/// <remarks>
/// The native library's own working memory (per-thread packing buffers of the matrix product, a few MiB at most
/// per thread, kept for the thread's lifetime) is not counted. A tensor larger than a single .NET array
/// (about 2 GiB) cannot be created: the factory throws <see cref="OutOfMemoryException"/> before allocating
/// anything; a shape whose element or byte count overflows a <see cref="long"/> throws <see cref="ArgumentException"/>.
/// </remarks>
/// <example>
/// <code>
/// long before = Diagnostics.LiveBytes;
/// using (Tensor.Scope())
/// {
///     var loss = (Tensor.Randn(64, 10) * 2).Sum();
/// }
/// Debug.Assert(Diagnostics.LiveBytes == before);
/// </code>
/// </example>
public static class Diagnostics
{
    /// <summary>
    /// Bytes of tensor storage currently rented out: held by tensors (and their views and the graph's saved
    /// tensors) that were neither disposed nor collected. Counts whole pool buffers, so it is at least the data size.
    /// </summary>
    public static long LiveBytes => StoragePool.LiveBytes;

    /// <summary>Storage buffers currently rented out (one per tensor that owns storage; views share their base's).</summary>
    public static long LiveBuffers => StoragePool.LiveBuffers;

    /// <summary>Bytes the pool keeps for reuse (at most 256 MiB per size class; buffers above 1 GiB are never kept).</summary>
    public static long PooledBytes => StoragePool.PooledBytes;

    /// <summary>Buffers the pool keeps for reuse.</summary>
    public static long PooledBuffers => StoragePool.PooledBuffers;

    /// <summary>
    /// Lets the GC have every buffer the pool keeps (and the few that this thread's last kernel calls referenced),
    /// e.g. after a burst of large temporaries. Live tensors are not affected.
    /// </summary>
    public static void TrimPool()
    {
        InFlightArrays.Clear();
        StoragePool.Trim();
    }
}
