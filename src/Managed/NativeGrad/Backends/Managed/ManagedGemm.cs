using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NativeGrad.Backends;

/// <summary>
/// Batched GEMM (ng_gemm): C = alpha * op(A) * op(B) + beta * C.
/// op(B) is packed into zero-padded column panels of NR = 2 vectors, and blocks of op(A) rows into MR = 4-row
/// interleaved tiles, so one register-blocked micro-kernel (4 x 2 vector accumulators, fused multiply-add over k)
/// serves every transpose combination and edge. Every element of C is the same fused multiply-add chain over
/// p = 0..k-1 starting from zero, whatever the tiling or thread split, so results never depend on the thread count.
/// Work is split over (row chunk, panel group) tasks, or over batches when the matrices are small.
/// </summary>
internal static unsafe class ManagedGemm
{
    private const int MR = 4;
    private const long ParallelWork = 1 << 21;

    public static void Run<T>(bool transA, bool transB, long m, long n, long k, T alpha, T* a, long lda, long strideA,
                              T* b, long ldb, long strideB, T beta, T* c, long ldc, long strideC, long batch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (m < 0 || n < 0 || k < 0 || batch < 0) throw new ArgumentException("Negative GEMM size.");
        if (m == 0 || n == 0 || batch == 0) return;
        if (ldc < n) throw new ArgumentException("ldc < N.", nameof(ldc));
        if (k == 0 || alpha == T.Zero)
        {
            // BLAS convention (shared with the C core): A and B are not read, so NaNs there do not propagate.
            ScaleC(m, n, beta, c, ldc, strideC, batch);
            return;
        }
        if (lda < (transA ? m : k)) throw new ArgumentException("lda is too small.", nameof(lda));
        if (ldb < (transB ? k : n)) throw new ArgumentException("ldb is too small.", nameof(ldb));

        var g = new Problem<T>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        long work = m * n * k;
        int threads = ManagedParallel.Threads;
        bool parallel = threads > 1; // Runtime.Threads == 1: everything inline on the calling thread
        long packedBLength = g.Panels * k * g.NR;

        if (parallel && batch > 1 && work < ParallelWork && work * batch >= ParallelWork)
        {
            // Many small products: one batch per task.
            T[]? shared = null;
            if (strideB == 0)
            {
                shared = new T[packedBLength];
                fixed (T* pb = shared) g.PackB(b, pb, 0, g.Panels);
            }
            ManagedParallel.For(batch, threads, bi =>
            {
                T[] packed = shared ?? ArrayPool<T>.Shared.Rent(checked((int)packedBLength));
                try
                {
                    fixed (T* pb = packed)
                    {
                        if (shared is null) g.PackB(b + bi * strideB, pb, 0, g.Panels);
                        g.ComputeBlock(a + bi * strideA, pb, c + bi * strideC, 0, m, 0, g.Panels);
                    }
                }
                finally
                {
                    if (shared is null) ArrayPool<T>.Shared.Return(packed);
                }
            });
            return;
        }

        T[] packedB = ArrayPool<T>.Shared.Rent(checked((int)packedBLength));
        try
        {
            fixed (T* pinned = packedB)
            {
                T* pb = pinned; // a plain local: lambdas may not capture fixed locals
                bool go = parallel && work >= ParallelWork;
                for (long bi = 0; bi < batch; bi++)
                {
                    if (bi == 0 || strideB != 0) g.PackB(b + bi * strideB, pb, 0, g.Panels);
                    T* ab = a + bi * strideA;
                    T* cb = c + bi * strideC;
                    if (!go)
                    {
                        g.ComputeBlock(ab, pb, cb, 0, m, 0, g.Panels);
                        continue;
                    }
                    long rowChunks = (m + g.RowChunk - 1) / g.RowChunk;
                    long wanted = 2L * threads; // each C element is still computed by one task: the split does not change it
                    long groups = rowChunks >= wanted ? 1 : Math.Min(g.Panels, (wanted + rowChunks - 1) / rowChunks);
                    long perGroup = (g.Panels + groups - 1) / groups;
                    groups = (g.Panels + perGroup - 1) / perGroup;
                    ManagedParallel.For(rowChunks * groups, threads, task =>
                    {
                        long r0 = task / groups * g.RowChunk;
                        long p0 = task % groups * perGroup;
                        g.ComputeBlock(ab, pb, cb, r0, Math.Min(m, r0 + g.RowChunk), p0, Math.Min(g.Panels, p0 + perGroup));
                    });
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(packedB);
        }
    }

    /// <summary>K == 0 or alpha == 0: C = beta * C (C = 0 without reading it when beta == 0).</summary>
    private static void ScaleC<T>(long m, long n, T beta, T* c, long ldc, long strideC, long batch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (long bi = 0; bi < batch; bi++)
        {
            for (long i = 0; i < m; i++)
            {
                var row = new Span<T>(c + bi * strideC + i * ldc, checked((int)n));
                if (beta == T.Zero) row.Clear();
                else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }

    /// <summary>The shape of one GEMM call plus the packing and compute routines.</summary>
    private readonly struct Problem<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly bool _transA, _transB;
        private readonly long _m, _n, _k, _lda, _ldb, _ldc;
        private readonly T _alpha, _beta;

        public readonly int W;         // lanes per vector
        public readonly int NR;        // columns per B panel (two vectors)
        public readonly long Panels;   // ceil(n / NR)
        public readonly long RowChunk; // rows of C per task: a multiple of MR sized so the packed A block stays in L2

        public Problem(bool transA, bool transB, long m, long n, long k, T alpha, T* a, long lda, T* b, long ldb, T beta, T* c, long ldc)
        {
            _transA = transA; _transB = transB; _m = m; _n = n; _k = k; _lda = lda; _ldb = ldb; _ldc = ldc;
            _alpha = alpha; _beta = beta;
            W = Vector<T>.Count;
            NR = 2 * W;
            Panels = (n + NR - 1) / NR;
            long rows = (256 * 1024) / (k * sizeof(T));
            RowChunk = Math.Clamp(rows / MR * MR, MR, 128);
        }

        /// <summary>Packs panels [p0, p1) of op(B): panel jp holds op(B)[p, jp*NR + jj] at (jp*k + p)*NR + jj, zero-padded.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void PackB(T* b, T* packed, long p0, long p1)
        {
            for (long jp = p0; jp < p1; jp++)
            {
                long j0 = jp * NR;
                int cols = (int)Math.Min(NR, _n - j0);
                T* dst = packed + jp * _k * NR;
                if (!_transB)
                {
                    for (long p = 0; p < _k; p++)
                    {
                        T* src = b + p * _ldb + j0;
                        T* d = dst + p * NR;
                        for (int jj = 0; jj < cols; jj++) d[jj] = src[jj];
                        for (int jj = cols; jj < NR; jj++) d[jj] = T.Zero;
                    }
                }
                else
                {
                    for (int jj = 0; jj < NR; jj++)
                    {
                        if (jj < cols)
                        {
                            T* src = b + (j0 + jj) * _ldb;
                            for (long p = 0; p < _k; p++) dst[p * NR + jj] = src[p];
                        }
                        else
                        {
                            for (long p = 0; p < _k; p++) dst[p * NR + jj] = T.Zero;
                        }
                    }
                }
            }
        }

        /// <summary>Computes rows [r0, r1) x panels [p0, p1) of C.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void ComputeBlock(T* a, T* packedB, T* c, long r0, long r1, long p0, long p1)
        {
            long rowsPerChunk = RowChunk;
            long tilesMax = rowsPerChunk / MR;
            T[] buffer = ArrayPool<T>.Shared.Rent(checked((int)(tilesMax * MR * _k)));
            try
            {
                fixed (T* pa = buffer)
                {
                    for (long rc = r0; rc < r1; rc += rowsPerChunk)
                    {
                        long rcEnd = Math.Min(r1, rc + rowsPerChunk);
                        long tiles = (rcEnd - rc + MR - 1) / MR;
                        PackA(a, pa, rc, rcEnd, tiles);
                        for (long jp = p0; jp < p1; jp++)
                        {
                            T* panel = packedB + jp * _k * NR;
                            long j0 = jp * NR;
                            int cols = (int)Math.Min(NR, _n - j0);
                            for (long t = 0; t < tiles; t++)
                            {
                                long i0 = rc + t * MR;
                                Kernel(pa + t * MR * _k, panel, c + i0 * _ldc + j0, (int)Math.Min(MR, rcEnd - i0), cols);
                            }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(buffer);
            }
        }

        /// <summary>Packs rows [r0, r1) of op(A) into MR-row tiles: tile t holds op(A)[r0 + t*MR + r, p] at (t*k + p)*MR + r.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackA(T* a, T* packed, long r0, long r1, long tiles)
        {
            for (long t = 0; t < tiles; t++)
            {
                T* dst = packed + t * MR * _k;
                long i0 = r0 + t * MR;
                int rows = (int)Math.Min(MR, r1 - i0);
                if (!_transA)
                {
                    for (int r = 0; r < MR; r++)
                    {
                        if (r < rows)
                        {
                            T* src = a + (i0 + r) * _lda;
                            for (long p = 0; p < _k; p++) dst[p * MR + r] = src[p];
                        }
                        else
                        {
                            for (long p = 0; p < _k; p++) dst[p * MR + r] = T.Zero;
                        }
                    }
                }
                else
                {
                    for (long p = 0; p < _k; p++)
                    {
                        T* src = a + p * _lda + i0;
                        T* d = dst + p * MR;
                        for (int r = 0; r < rows; r++) d[r] = src[r];
                        for (int r = rows; r < MR; r++) d[r] = T.Zero;
                    }
                }
            }
        }

        /// <summary>The 4 x 2-vector micro-kernel over the whole k, then C = alpha * acc (+ beta * C) for the valid part.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Kernel(T* pa, T* pb, T* c, int rows, int cols)
        {
            int w = W;
            Vector<T> c00 = Vector<T>.Zero, c01 = Vector<T>.Zero, c10 = Vector<T>.Zero, c11 = Vector<T>.Zero;
            Vector<T> c20 = Vector<T>.Zero, c21 = Vector<T>.Zero, c30 = Vector<T>.Zero, c31 = Vector<T>.Zero;
            for (long p = 0; p < _k; p++)
            {
                Vector<T> b0 = Vector.Load(pb);
                Vector<T> b1 = Vector.Load(pb + w);
                Vector<T> a0 = new(pa[0]);
                c00 = ElementwiseLoops.FusedMultiplyAdd(a0, b0, c00);
                c01 = ElementwiseLoops.FusedMultiplyAdd(a0, b1, c01);
                Vector<T> a1 = new(pa[1]);
                c10 = ElementwiseLoops.FusedMultiplyAdd(a1, b0, c10);
                c11 = ElementwiseLoops.FusedMultiplyAdd(a1, b1, c11);
                Vector<T> a2 = new(pa[2]);
                c20 = ElementwiseLoops.FusedMultiplyAdd(a2, b0, c20);
                c21 = ElementwiseLoops.FusedMultiplyAdd(a2, b1, c21);
                Vector<T> a3 = new(pa[3]);
                c30 = ElementwiseLoops.FusedMultiplyAdd(a3, b0, c30);
                c31 = ElementwiseLoops.FusedMultiplyAdd(a3, b1, c31);
                pa += MR;
                pb += 2 * w;
            }
            StoreRow(c, c00, c01, cols);
            if (rows > 1) StoreRow(c + _ldc, c10, c11, cols);
            if (rows > 2) StoreRow(c + 2 * _ldc, c20, c21, cols);
            if (rows > 3) StoreRow(c + 3 * _ldc, c30, c31, cols);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreRow(T* c, Vector<T> v0, Vector<T> v1, int cols)
        {
            int w = W;
            Vector<T> alpha = new(_alpha);
            v0 *= alpha;
            v1 *= alpha;
            if (cols == 2 * w)
            {
                if (_beta == T.Zero)
                {
                    Vector.Store(v0, c);
                    Vector.Store(v1, c + w);
                }
                else
                {
                    Vector<T> beta = new(_beta);
                    Vector.Store(v0 + beta * Vector.Load(c), c);
                    Vector.Store(v1 + beta * Vector.Load(c + w), c + w);
                }
                return;
            }
            T* tmp = stackalloc T[2 * w];
            Vector.Store(v0, tmp);
            Vector.Store(v1, tmp + w);
            if (_beta == T.Zero)
            {
                for (int j = 0; j < cols; j++) c[j] = tmp[j];
            }
            else
            {
                for (int j = 0; j < cols; j++) c[j] = tmp[j] + _beta * c[j];
            }
        }
    }
}
