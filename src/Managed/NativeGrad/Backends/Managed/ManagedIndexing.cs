using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;

namespace NativeGrad.Backends;

/// <summary>
/// index_select / index_add / gather / scatter_add over a contiguous [outer, dim, inner] layout (ng_index_* etc.).
/// Every index is validated before anything is written, so a bad index leaves the output untouched. Rows of
/// <c>inner</c> elements move as block copies (select) or vectorised adds (<see cref="TensorPrimitives.Add{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>);
/// the accumulating kernels run in a fixed order so repeated indices always add up the same way.
/// </summary>
internal static unsafe class ManagedIndexing
{
    private const long ParallelWork = 1 << 18;

    /// <summary>y[o, j, i] = x[o, idx[j], i]; T is moved as raw bits (float, double or long).</summary>
    public static void IndexSelect<T>(long outer, long dim, long inner, T* x, long* idx, long nidx, T* y) where T : unmanaged
    {
        CheckSizes(outer, dim, inner, nidx);
        Validate(idx, nidx, dim);
        if (outer == 0 || inner == 0 || nidx == 0) return;
        var rows = new IndexSelectRows<T>(dim, inner, x, idx, nidx, y);
        ManagedParallel.For(outer, nidx * inner, ParallelWork, ref rows);
    }

    /// <summary>The body of <see cref="IndexSelect{T}"/>: item o fills y[o].</summary>
    private readonly struct IndexSelectRows<T>(long dim, long inner, T* x, long* idx, long nidx, T* y) : IParallelBody where T : unmanaged
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(long o)
        {
            long bytes = inner * sizeof(T);
            T* src = x + o * dim * inner;
            T* dst = y + o * nidx * inner;
            for (long j = 0; j < nidx; j++) Buffer.MemoryCopy(src + idx[j] * inner, dst + j * inner, bytes, bytes);
        }
    }

    /// <summary>y[o, idx[j], i] += x[o, j, i] (repeated indices accumulate, in order of j).</summary>
    public static void IndexAdd<T>(long outer, long dim, long inner, T* x, long* idx, long nidx, T* y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CheckSizes(outer, dim, inner, nidx);
        Validate(idx, nidx, dim);
        if (outer == 0 || inner == 0 || nidx == 0) return;
        var rows = new IndexAddRows<T>(dim, checked((int)inner), x, idx, nidx, y);
        ManagedParallel.For(outer, nidx * inner, ParallelWork, ref rows);
    }

    /// <summary>The body of <see cref="IndexAdd{T}"/>: item o accumulates x[o] into y[o], in order of j.</summary>
    private readonly struct IndexAddRows<T>(long dim, int inner, T* x, long* idx, long nidx, T* y) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(long o)
        {
            T* src = x + o * nidx * inner;
            T* dst = y + o * dim * inner;
            for (long j = 0; j < nidx; j++)
            {
                var row = new Span<T>(dst + idx[j] * inner, inner);
                TensorPrimitives.Add(row, new ReadOnlySpan<T>(src + j * inner, inner), row);
            }
        }
    }

    /// <summary>y[o, i] = x[o, idx[o, i], i].</summary>
    public static void Gather<T>(long outer, long dim, long inner, T* x, long* idx, T* y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CheckSizes(outer, dim, inner, 0);
        long count = outer * inner;
        Validate(idx, count, dim);
        var rows = new GatherRows<T>(dim, inner, x, idx, y);
        ManagedParallel.For(outer, inner, ParallelWork, ref rows);
    }

    /// <summary>The body of <see cref="Gather{T}"/>: item o fills y[o].</summary>
    private readonly struct GatherRows<T>(long dim, long inner, T* x, long* idx, T* y) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(long o)
        {
            T* src = x + o * dim * inner;
            long* ix = idx + o * inner;
            T* dst = y + o * inner;
            for (long i = 0; i < inner; i++) dst[i] = src[ix[i] * inner + i];
        }
    }

    /// <summary>y[o, idx[o, i], i] += x[o, i].</summary>
    public static void ScatterAdd<T>(long outer, long dim, long inner, T* x, long* idx, T* y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CheckSizes(outer, dim, inner, 0);
        long count = outer * inner;
        Validate(idx, count, dim);
        // Different (o, i) never touch the same y element, so the outer rows are independent.
        var rows = new ScatterAddRows<T>(dim, inner, x, idx, y);
        ManagedParallel.For(outer, inner, ParallelWork, ref rows);
    }

    /// <summary>The body of <see cref="ScatterAdd{T}"/>: item o accumulates x[o] into y[o].</summary>
    private readonly struct ScatterAddRows<T>(long dim, long inner, T* x, long* idx, T* y) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(long o)
        {
            T* src = x + o * inner;
            long* ix = idx + o * inner;
            T* dst = y + o * dim * inner;
            for (long i = 0; i < inner; i++) dst[ix[i] * inner + i] += src[i];
        }
    }

    private static void CheckSizes(long outer, long dim, long inner, long nidx)
    {
        if (outer < 0 || dim < 0 || inner < 0 || nidx < 0) throw new ArgumentException("Negative size.");
    }

    /// <summary>Throws for the first index outside [0, dim).</summary>
    private static void Validate(long* idx, long count, long dim)
    {
        for (long j = 0; j < count; j++)
        {
            long v = idx[j];
            if ((ulong)v >= (ulong)dim) throw new IndexOutOfRangeException($"index {v} is out of bounds for dimension of size {dim}");
        }
    }
}
