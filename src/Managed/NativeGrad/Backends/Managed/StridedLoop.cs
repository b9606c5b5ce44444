using System.Runtime.CompilerServices;
namespace NativeGrad.Backends;

/// <summary>
/// A row kernel driven by <see cref="StridedLoop.ForEachRow{TRow}"/>: handles `length` elements of the
/// innermost (collapsed) dimension for up to three operands, each given by its element offset and inner stride.
/// </summary>
internal interface IStridedRow
{
    void Row(long off0, long off1, long off2, long length, long s0, long s1, long s2);
}

/// <summary>
/// N-d strided iteration: dimensions of size 1 are dropped and adjacent dimensions that are contiguous with each
/// other in every operand are merged, then an odometer walks the outer dimensions and hands whole inner rows to a
/// row kernel (so the vectorised loops see the longest possible rows). Large iterations are split over threads by
/// outer row; each output element is still produced by exactly one row call.
/// </summary>
internal static unsafe class StridedLoop
{
    /// <summary>dst = src element-wise through strides (T is moved as raw bits: float, double or long).</summary>
    public static void Copy<T>(ReadOnlySpan<long> shape, T* src, ReadOnlySpan<long> srcStrides, T* dst, ReadOnlySpan<long> dstStrides)
        where T : unmanaged
    {
        // A single row stays one call (one memmove): an overlapping copy, which nothing rejects, must not be split.
        ForEachRow(new CopyRow<T>(src, dst), shape, srcStrides, dstStrides, dstStrides, 1 << 18, splitSingleRow: false);
    }

    private readonly struct CopyRow<T>(T* src, T* dst) : IStridedRow where T : unmanaged
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Row(long off0, long off1, long off2, long length, long s0, long s1, long s2)
        {
            T* s = src + off0;
            T* d = dst + off1;
            if (s0 == 1 && s1 == 1)
            {
                long bytes = length * sizeof(T);
                Buffer.MemoryCopy(s, d, bytes, bytes);
            }
            else if (s0 == 0)
            {
                T v = *s;
                if (s1 == 1) new Span<T>(d, checked((int)length)).Fill(v);
                else for (long i = 0; i < length; i++) d[i * s1] = v;
            }
            else
            {
                for (long i = 0; i < length; i++) d[i * s1] = s[i * s0];
            }
        }
    }

    /// <summary>
    /// Calls <paramref name="row"/> once per inner row of the broadcast iteration space <paramref name="shape"/>;
    /// operand k is addressed through <paramref name="strides0"/> / 1 / 2 (pass the same span twice for fewer
    /// operands). Work of at least <paramref name="parallelThreshold"/> elements is split across threads: by outer rows,
    /// or, when everything collapses into one row, by pieces of that row (unless <paramref name="splitSingleRow"/> is false).
    /// </summary>
    public static void ForEachRow<TRow>(TRow row, ReadOnlySpan<long> shape, ReadOnlySpan<long> strides0,
                                        ReadOnlySpan<long> strides1, ReadOnlySpan<long> strides2, long parallelThreshold,
                                        bool splitSingleRow = true)
        where TRow : struct, IStridedRow
    {
        int ndim = shape.Length;
        if (strides0.Length < ndim || strides1.Length < ndim || strides2.Length < ndim)
            throw new ArgumentException("A stride array is shorter than the shape.");
        Span<long> dims = stackalloc long[Math.Max(ndim, 1)];
        Span<long> st0 = stackalloc long[Math.Max(ndim, 1)];
        Span<long> st1 = stackalloc long[Math.Max(ndim, 1)];
        Span<long> st2 = stackalloc long[Math.Max(ndim, 1)];
        int nd = 0;
        for (int d = 0; d < ndim; d++)
        {
            long size = shape[d];
            if (size < 0) throw new ArgumentException("Negative dimension.", nameof(shape));
            if (size == 0) return;
            if (size == 1) continue;
            if (nd > 0 && st0[nd - 1] == strides0[d] * size && st1[nd - 1] == strides1[d] * size && st2[nd - 1] == strides2[d] * size)
            {
                dims[nd - 1] *= size;
                st0[nd - 1] = strides0[d];
                st1[nd - 1] = strides1[d];
                st2[nd - 1] = strides2[d];
                continue;
            }
            dims[nd] = size;
            st0[nd] = strides0[d];
            st1[nd] = strides1[d];
            st2[nd] = strides2[d];
            nd++;
        }
        if (nd == 0)
        {
            row.Row(0, 0, 0, 1, 1, 1, 1);
            return;
        }

        long inner = dims[nd - 1];
        long outerCount = 1;
        for (int d = 0; d < nd - 1; d++) outerCount *= dims[d];
        int threads = ManagedParallel.Threads;
        if (outerCount == 1)
        {
            // One row (same-shape contiguous operands collapse to it): split the row itself.
            if (!splitSingleRow || inner < parallelThreshold || threads == 1) row.Row(0, 0, 0, inner, st0[nd - 1], st1[nd - 1], st2[nd - 1]);
            else RowInParallel(row, inner, st0[nd - 1], st1[nd - 1], st2[nd - 1], parallelThreshold, threads);
            return;
        }

        if (outerCount * inner < parallelThreshold || threads == 1)
        {
            Rows(row, dims[..nd], st0[..nd], st1[..nd], st2[..nd], 0, outerCount);
            return;
        }
        RowsParallel(row, dims[..nd], st0[..nd], st1[..nd], st2[..nd], outerCount, inner, parallelThreshold, threads);
    }

    /// <summary>
    /// A single row of <paramref name="length"/> elements split into pieces of about a quarter of
    /// <paramref name="parallelThreshold"/> (whole cache lines of 64 elements), one row call each.
    /// </summary>
    private static void RowInParallel<TRow>(TRow row, long length, long s0, long s1, long s2, long parallelThreshold, int threads)
        where TRow : struct, IStridedRow
    {
        long piece = Math.Max(64, (parallelThreshold / 4 + 63) / 64 * 64);
        var body = new RowPieces<TRow>(row, length, s0, s1, s2, piece);
        ManagedParallel.For((length + piece - 1) / piece, threads, ref body);
    }

    /// <summary>The parallel body of <see cref="RowInParallel{TRow}"/>: item k is elements [k * piece, (k + 1) * piece) of the row.</summary>
    private readonly struct RowPieces<TRow>(TRow row, long length, long s0, long s1, long s2, long piece) : IParallelBody
        where TRow : struct, IStridedRow
    {
        public void Invoke(long k)
        {
            long start = k * piece;
            row.Row(start * s0, start * s1, start * s2, Math.Min(piece, length - start), s0, s1, s2);
        }
    }

    /// <summary>The parallel part of <see cref="ForEachRow{TRow}"/>: chunks of whole outer rows on at most
    /// <paramref name="threads"/> workers. The collapsed dimensions and strides stay in the caller's stack buffers
    /// (the workers read them through pointers; the call returns only once they are done).</summary>
    private static void RowsParallel<TRow>(TRow row, ReadOnlySpan<long> dims, ReadOnlySpan<long> st0, ReadOnlySpan<long> st1,
                                           ReadOnlySpan<long> st2, long outerCount, long inner, long parallelThreshold, int threads)
        where TRow : struct, IStridedRow
    {
        long rowsPerChunk = Math.Max(1, (parallelThreshold / 4 + inner - 1) / inner);
        long chunks = (outerCount + rowsPerChunk - 1) / rowsPerChunk;
        fixed (long* d = dims)
        fixed (long* s0 = st0)
        fixed (long* s1 = st1)
        fixed (long* s2 = st2)
        {
            var body = new RowChunks<TRow>(row, d, s0, s1, s2, dims.Length, outerCount, rowsPerChunk);
            ManagedParallel.For(chunks, threads, ref body);
        }
    }

    /// <summary>The parallel body of <see cref="RowsParallel{TRow}"/>: item ch is outer rows [ch * rowsPerChunk, (ch + 1) * rowsPerChunk).</summary>
    private readonly struct RowChunks<TRow>(TRow row, long* dims, long* st0, long* st1, long* st2, int nd, long outerCount, long rowsPerChunk)
        : IParallelBody where TRow : struct, IStridedRow
    {
        public void Invoke(long ch)
        {
            long start = ch * rowsPerChunk;
            Rows(row, new ReadOnlySpan<long>(dims, nd), new ReadOnlySpan<long>(st0, nd), new ReadOnlySpan<long>(st1, nd),
                 new ReadOnlySpan<long>(st2, nd), start, Math.Min(outerCount, start + rowsPerChunk));
        }
    }

    /// <summary>Runs outer rows [start, end) of the collapsed iteration space.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TRow>(TRow row, ReadOnlySpan<long> dims, ReadOnlySpan<long> st0, ReadOnlySpan<long> st1,
                                   ReadOnlySpan<long> st2, long start, long end)
        where TRow : struct, IStridedRow
    {
        int outerDims = dims.Length - 1;
        long inner = dims[outerDims];
        Span<long> index = stackalloc long[outerDims];
        long off0 = 0, off1 = 0, off2 = 0;
        long rem = start;
        for (int d = outerDims - 1; d >= 0; d--)
        {
            index[d] = rem % dims[d];
            rem /= dims[d];
            off0 += index[d] * st0[d];
            off1 += index[d] * st1[d];
            off2 += index[d] * st2[d];
        }
        long i0 = st0[outerDims], i1 = st1[outerDims], i2 = st2[outerDims];
        for (long r = start; r < end; r++)
        {
            row.Row(off0, off1, off2, inner, i0, i1, i2);
            for (int d = outerDims - 1; d >= 0; d--)
            {
                off0 += st0[d];
                off1 += st1[d];
                off2 += st2[d];
                if (++index[d] < dims[d]) break;
                off0 -= dims[d] * st0[d];
                off1 -= dims[d] * st1[d];
                off2 -= dims[d] * st2[d];
                index[d] = 0;
            }
        }
    }
}
