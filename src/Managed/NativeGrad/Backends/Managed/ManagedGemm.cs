using CommunityToolkit.HighPerformance.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NativeGrad.Backends;

/// <summary>
/// Batched GEMM (ng_gemm): C = alpha * op(A) * op(B) + beta * C.
/// <para>
/// Blocking. op(B) is packed once per product into zero-padded column panels of NR = 2 vectors (panel jp holds
/// op(B)[p, jp*NR + jj] at (jp*k + p)*NR + jj, 64-byte aligned). Rows are cut into MR-row tiles; a task takes a
/// range of tiles and packs them, up to <c>ChunkTiles</c> at a time (an MC-row chunk over the whole k, sized to stay
/// in L2), into interleaved MR x k slivers. For each panel of the task, k is walked in blocks of KC so the KC x NR
/// slice of the panel stays in L1 while every tile of the chunk streams past it, and a register-blocked micro-kernel
/// (MR x 2 vector accumulators, fused multiply-add over the block) updates one MR x NR tile of C. Two kernels exist:
/// 12 rows x 2 <see cref="Vector512{T}"/> (24 zmm accumulators) when Vector512 is hardware accelerated and n is
/// wider than two <see cref="Vector{T}"/>, else 6 rows x 2 <see cref="Vector{T}"/> (12 accumulators: fits the 16 ymm
/// of AVX2 and the 32 registers of NEON). op(B) is packed in parallel when the product is split over threads. Edges (m, n not multiples of MR, NR) are zero-padded in the packed copies and only the valid part is stored.
/// </para>
/// <para>
/// Determinism. Every element of C is the one fused multiply-add chain acc = fma(op(A)[i,p], op(B)[p,j], acc) over
/// p = 0..k-1 in order, starting from acc = 0, followed by C = alpha*acc (beta == 0) or C = alpha*acc + beta*C
/// (two roundings, then the add). Blocking over k does not break the chain: between k blocks the raw accumulators
/// are stored to a per-task scratch tile and reloaded unchanged, and alpha/beta are applied only after the last
/// block. The vector width, MR, NR, KC, MC and the split of rows and panels over tasks therefore only decide which
/// lane of which register carries a chain, never its sequence of operations: results are bitwise independent of
/// the thread count (and of whether the Vector512 or the Vector&lt;T&gt; kernel runs).
/// </para>
/// <para>
/// BLAS conventions (shared with the C core): beta == 0 never reads C (NaNs there do not propagate); k == 0 or
/// alpha == 0 reads neither A nor B. Work is split over (row range, panel group) tasks, or over batches when the
/// products are small; Runtime.Threads == 1 runs everything inline on the calling thread. No path allocates once
/// warm: buffers are pooled spans (<see cref="SpanOwner{T}"/>, over the shared array pool), and the parallel loops take struct bodies.
/// </para>
/// </summary>
internal static unsafe class ManagedGemm
{
    private const long ParallelWork = 1 << 21;
    /// <summary>Packed op(B) elements from which the packing itself is split over threads.</summary>
    private const long ParallelPack = 1 << 17;
    /// <summary>Depth of a k block: a KC x NR panel slice (32 KiB for float and double) stays in L1.</summary>
    private const int KC = 256;
    /// <summary>Bytes of packed A a chunk may hold (the chunk is re-read once per panel, from L2).</summary>
    private const long ChunkBytes = 384 * 1024;
    /// <summary>Most rows in a chunk (MC).</summary>
    private const int MaxChunkRows = 240;
    private const int Align = 64;

    /// <summary>Whether the 12 x 2 Vector512 kernel can run (a JIT-time constant).</summary>
    private static bool WideAvailable => Vector512.IsHardwareAccelerated;

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

        var g = new Problem<T>(transA, transB, m, n, k, alpha, lda, ldb, beta, ldc);
        long work = m * n * k;
        int threads = ManagedParallel.Threads;
        bool parallel = threads > 1; // Runtime.Threads == 1: everything inline on the calling thread

        if (parallel && batch > 1 && work < ParallelWork && work * batch >= ParallelWork)
        {
            RunBatches(g, a, strideA, b, strideB, c, strideC, batch, threads);
            return;
        }

        using var packedB = SpanOwner<T>.Allocate(checked((int)(g.PackedBLength + Align / sizeof(T))));
        fixed (T* raw = packedB.Span)
        {
            T* pb = AlignUp(raw);
            bool go = parallel && work >= ParallelWork;
            for (long bi = 0; bi < batch; bi++)
            {
                bool pack = bi == 0 || strideB != 0;
                if (go)
                {
                    RunSplit(g, a + bi * strideA, pack ? b + bi * strideB : null, pb, c + bi * strideC, threads);
                    continue;
                }
                if (pack) g.PackB(b + bi * strideB, pb, 0, g.Panels);
                g.ComputeBlock(a + bi * strideA, pb, c + bi * strideC, 0, g.Tiles, 0, g.Panels);
            }
        }
    }

    /// <summary>Many small products: one batch per task. When B is shared (strideB == 0) it is packed once, into a
    /// pooled buffer, and every task reads it; else each task packs its own B into a buffer it rents.</summary>
    private static void RunBatches<T>(Problem<T> g, T* a, long strideA, T* b, long strideB, T* c, long strideC, long batch, int threads)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int length = checked((int)(g.PackedBLength + Align / sizeof(T)));
        if (strideB != 0)
        {
            var body = new BatchTasks<T>(g, a, strideA, b, strideB, c, strideC, null, length);
            ManagedParallel.For(batch, threads, ref body);
            return;
        }
        using var shared = SpanOwner<T>.Allocate(length);
        fixed (T* raw = shared.Span)
        {
            T* pb = AlignUp(raw);
            g.PackB(b, pb, 0, g.Panels);
            var body = new BatchTasks<T>(g, a, strideA, b, 0, c, strideC, pb, length);
            ManagedParallel.For(batch, threads, ref body);
        }
    }

    /// <summary>The parallel body of <see cref="RunBatches{T}"/>: item bi computes product bi, with op(B) already
    /// packed at <paramref name="sharedPackedB"/> or, when that is null, packed by the item into a rented buffer of
    /// <paramref name="length"/> elements.</summary>
    private readonly struct BatchTasks<T>(Problem<T> g, T* a, long strideA, T* b, long strideB, T* c, long strideC, T* sharedPackedB, int length)
        : IParallelBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Invoke(long bi)
        {
            if (sharedPackedB != null)
            {
                g.ComputeBlock(a + bi * strideA, sharedPackedB, c + bi * strideC, 0, g.Tiles, 0, g.Panels);
                return;
            }
            using var packed = SpanOwner<T>.Allocate(length);
            fixed (T* raw = packed.Span)
            {
                T* pb = AlignUp(raw);
                g.PackB(b + bi * strideB, pb, 0, g.Panels);
                g.ComputeBlock(a + bi * strideA, pb, c + bi * strideC, 0, g.Tiles, 0, g.Panels);
            }
        }
    }

    /// <summary>One large product over (row range, panel group) tasks, after packing op(B) into <paramref name="pb"/>
    /// in parallel (skipped when <paramref name="b"/> is null: already packed). Each C element is computed by exactly
    /// one task with the same chain, so the split is free to depend on the thread count: row ranges are a multiple
    /// of the thread count, at least one chunk each, with the tiles spread evenly; panel groups too when there are
    /// few row ranges.</summary>
    private static void RunSplit<T>(Problem<T> g, T* a, T* b, T* pb, T* c, int threads)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (b != null && g.PackedBLength < ParallelPack)
        {
            g.PackB(b, pb, 0, g.Panels); // a parallel loop would cost more than it saves
        }
        else if (b != null)
        {
            var pack = new PackTasks<T>(g, b, pb, Math.Min(g.Panels, 4L * threads));
            ManagedParallel.For(pack.Count, threads, ref pack);
        }
        long tiles = g.Tiles;
        long rowTasks = (tiles + g.ChunkTiles - 1) / g.ChunkTiles;
        if (rowTasks < 4L * threads) rowTasks = Math.Min(tiles, (rowTasks + threads - 1) / threads * threads);
        long groups = rowTasks >= 2L * threads ? 1 : Math.Min(g.Panels, (2L * threads + rowTasks - 1) / rowTasks);
        var compute = new BlockTasks<T>(g, a, pb, c, rowTasks, groups);
        ManagedParallel.For(rowTasks * groups, threads, ref compute);
    }

    /// <summary>The packing body of <see cref="RunSplit{T}"/>: item t packs panels [t * Panels / Count, (t + 1) * Panels / Count).</summary>
    private readonly struct PackTasks<T>(Problem<T> g, T* b, T* pb, long count) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public long Count => count;

        public void Invoke(long t) => g.PackB(b, pb, t * g.Panels / count, (t + 1) * g.Panels / count);
    }

    /// <summary>The compute body of <see cref="RunSplit{T}"/>: item task is row range task / groups (of
    /// <paramref name="rowTasks"/>) times panel group task % groups.</summary>
    private readonly struct BlockTasks<T>(Problem<T> g, T* a, T* pb, T* c, long rowTasks, long groups) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Invoke(long task)
        {
            long rt = task / groups, gi = task % groups;
            long tiles = g.Tiles;
            g.ComputeBlock(a, pb, c, rt * tiles / rowTasks, (rt + 1) * tiles / rowTasks,
                           gi * g.Panels / groups, (gi + 1) * g.Panels / groups);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T* AlignUp<T>(T* p) where T : unmanaged => (T*)(((nuint)p + (Align - 1)) & ~(nuint)(Align - 1));

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

        public readonly bool Wide;       // the 12 x 2 Vector512 kernel, else the 6 x 2 Vector<T> one
        public readonly int W;           // lanes per vector
        public readonly int MR;          // rows per tile: 12 (Vector512) or 6 (Vector<T>)
        public readonly int NR;          // columns per B panel (two vectors)
        public readonly long Panels;     // ceil(n / NR)
        public readonly long Tiles;      // ceil(m / MR)
        public readonly long PackedBLength; // Panels * k * NR
        public readonly long ChunkTiles; // tiles packed at once (MC = ChunkTiles * MR): the packed chunk stays in L2

        public Problem(bool transA, bool transB, long m, long n, long k, T alpha, long lda, long ldb, T beta, long ldc)
        {
            _transA = transA; _transB = transB; _m = m; _n = n; _k = k; _lda = lda; _ldb = ldb; _ldc = ldc;
            _alpha = alpha; _beta = beta;
            // Narrow products (n <= two Vector<T>) waste less of the narrower tile; the result is the same either way.
            Wide = WideAvailable && n > 2 * Vector<T>.Count;
            W = Wide ? Vector512<T>.Count : Vector<T>.Count;
            MR = Wide ? 12 : 6;
            NR = 2 * W;
            Panels = (n + NR - 1) / NR;
            Tiles = (m + MR - 1) / MR;
            PackedBLength = Panels * k * NR;
            ChunkTiles = Math.Clamp(ChunkBytes / (MR * k * sizeof(T)), 1, MaxChunkRows / MR);
        }

        /// <summary>Packs panels [p0, p1) of op(B): panel jp holds op(B)[p, jp*NR + jj] at (jp*k + p)*NR + jj, zero-padded.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void PackB(T* b, T* packed, long p0, long p1)
        {
            int nr = NR;
            for (long jp = p0; jp < p1; jp++)
            {
                long j0 = jp * nr;
                int cols = (int)Math.Min(nr, _n - j0);
                T* dst = packed + jp * _k * nr;
                if (!_transB)
                {
                    for (long p = 0; p < _k; p++)
                    {
                        T* src = b + p * _ldb + j0;
                        T* d = dst + p * nr;
                        if (cols == nr)
                        {
                            CopyPanelRow(src, d);
                            continue;
                        }
                        for (int jj = 0; jj < cols; jj++) d[jj] = src[jj];
                        for (int jj = cols; jj < nr; jj++) d[jj] = T.Zero;
                    }
                }
                else Interleave(b + j0 * _ldb, _ldb, cols, nr, dst); // op(B) columns are rows of B
            }
        }

        /// <summary>Copies NR (= two vectors) contiguous elements.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void CopyPanelRow(T* src, T* dst)
        {
            if (Wide)
            {
                Vector512.Store(Vector512.Load(src), dst);
                Vector512.Store(Vector512.Load(src + Vector512<T>.Count), dst + Vector512<T>.Count);
            }
            else
            {
                Vector.Store(Vector.Load(src), dst);
                Vector.Store(Vector.Load(src + Vector<T>.Count), dst + Vector<T>.Count);
            }
        }

        /// <summary>Computes row tiles [t0, t1) x panels [p0, p1) of C.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void ComputeBlock(T* a, T* packedB, T* c, long t0, long t1, long p0, long p1)
        {
            if (t0 >= t1 || p0 >= p1) return;
            int mr = MR, nr = NR;
            long k = _k, ldc = _ldc;
            long chunkTiles = Math.Min(ChunkTiles, t1 - t0);
            long tileSize = mr * nr;
            // One buffer: the per-tile accumulator scratch (raw sums between k blocks, and edge tiles), then the packed chunk.
            long length = chunkTiles * tileSize + chunkTiles * mr * k + Align / sizeof(T);
            using var buffer = SpanOwner<T>.Allocate(checked((int)length));
            fixed (T* raw = buffer.Span)
            {
                T* scratch = AlignUp(raw);
                T* pa = scratch + chunkTiles * tileSize;
                for (long tc = t0; tc < t1; tc += chunkTiles)
                {
                    long tiles = Math.Min(chunkTiles, t1 - tc);
                    long r0 = tc * mr;
                    PackA(a, pa, r0, tiles);
                    for (long jp = p0; jp < p1; jp++)
                    {
                        T* panel = packedB + jp * k * nr;
                        long j0 = jp * nr;
                        int cols = (int)Math.Min(nr, _n - j0);
                        for (long pc = 0; pc < k; pc += KC)
                        {
                            int kc = (int)Math.Min(KC, k - pc);
                            bool first = pc == 0, last = pc + kc == k;
                            for (long t = 0; t < tiles; t++)
                            {
                                long i0 = r0 + t * mr;
                                int rows = (int)Math.Min(mr, _m - i0);
                                T* tileA = pa + t * mr * k + pc * mr;
                                T* acc = scratch + t * tileSize;
                                T* ct = c + i0 * ldc + j0;
                                // Straight into C only for a full tile after the last k block; else raw sums to scratch.
                                bool direct = last && rows == mr && cols == nr;
                                if (Wide) Kernel12x2(kc, tileA, panel + pc * nr, acc, first, direct, ct, ldc, _alpha, _beta);
                                else Kernel6x2(kc, tileA, panel + pc * nr, acc, first, direct, ct, ldc, _alpha, _beta);
                                if (last && !direct) StoreEdge(acc, ct, rows, cols);
                            }
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Interleaves <paramref name="valid"/> source lines (each contiguous over p = 0..k-1, <paramref name="ld"/> apart) into
        /// <paramref name="width"/>-wide packed rows: dst[p * width + lane] = src[lane * ld + p], zero for lanes past
        /// <paramref name="valid"/>. In blocks of 64 k steps: contiguous reads, and the written block stays in L1.
        /// </summary>
        private void Interleave(T* src, long ld, int valid, int width, T* dst)
        {
            for (long pb = 0; pb < _k; pb += 64)
            {
                long pe = Math.Min(_k, pb + 64);
                for (int lane = 0; lane < width; lane++)
                {
                    T* d = dst + lane;
                    if (lane < valid)
                    {
                        T* line = src + lane * ld;
                        for (long p = pb; p < pe; p++) d[p * width] = line[p];
                    }
                    else
                    {
                        for (long p = pb; p < pe; p++) d[p * width] = T.Zero;
                    }
                }
            }
        }

        /// <summary>C = alpha * acc (+ beta * C) for the valid rows x cols of an edge tile held raw in scratch.</summary>
        private void StoreEdge(T* acc, T* c, int rows, int cols)
        {
            T alpha = _alpha, beta = _beta;
            for (int r = 0; r < rows; r++)
            {
                T* s = acc + r * NR;
                T* d = c + r * _ldc;
                if (beta == T.Zero)
                {
                    for (int j = 0; j < cols; j++) d[j] = alpha * s[j];
                }
                else
                {
                    for (int j = 0; j < cols; j++) d[j] = alpha * s[j] + beta * d[j];
                }
            }
        }

        /// <summary>Packs `tiles` MR-row tiles of op(A) from row r0: tile t holds op(A)[r0 + t*MR + r, p] at (t*k + p)*MR + r, zero-padded.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackA(T* a, T* packed, long r0, long tiles)
        {
            int mr = MR;
            for (long t = 0; t < tiles; t++)
            {
                T* dst = packed + t * mr * _k;
                long i0 = r0 + t * mr;
                int rows = (int)Math.Min(mr, _m - i0);
                if (!_transA) Interleave(a + i0 * _lda, _lda, rows, mr, dst); // op(A) rows are rows of A
                else
                {
                    for (long p = 0; p < _k; p++)
                    {
                        T* src = a + p * _lda + i0;
                        T* d = dst + p * mr;
                        for (int r = 0; r < rows; r++) d[r] = src[r];
                        for (int r = rows; r < mr; r++) d[r] = T.Zero;
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> z) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(x.As<T, float>(), y.As<T, float>(), z.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(x.As<T, double>(), y.As<T, double>(), z.As<T, double>()).As<double, T>();
        throw new NotSupportedException();
    }

    /// <summary>After the kernel's k block: full tile after the last block -> C = alpha*acc (+ beta*C); else the raw
    /// accumulators -> scratch row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(Vector512<T> v0, Vector512<T> v1, bool direct, T* acc, T* c, T alpha, T beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        if (!direct)
        {
            Vector512.Store(v0, acc);
            Vector512.Store(v1, acc + w);
            return;
        }
        Vector512<T> va = Vector512.Create(alpha);
        v0 *= va;
        v1 *= va;
        if (beta == T.Zero)
        {
            Vector512.Store(v0, c);
            Vector512.Store(v1, c + w);
        }
        else
        {
            Vector512<T> vb = Vector512.Create(beta);
            Vector512.Store(v0 + vb * Vector512.Load(c), c);
            Vector512.Store(v1 + vb * Vector512.Load(c + w), c + w);
        }
    }

    /// <summary>The 12 x 2-vector Vector512 micro-kernel over one k block of kc steps (24 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel12x2<T>(int kc, T* pa, T* pb, T* acc, bool first, bool direct, T* c, long ldc, T alpha, T beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int R = 12;
        int w = Vector512<T>.Count, nr = 2 * w;
        Vector512<T> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        Vector512<T> c60, c61, c70, c71, c80, c81, c90, c91, cA0, cA1, cB0, cB1;
        if (first)
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector512<T>.Zero;
            c60 = c61 = c70 = c71 = c80 = c81 = c90 = c91 = cA0 = cA1 = cB0 = cB1 = Vector512<T>.Zero;
        }
        else
        {
            c00 = Vector512.Load(acc); c01 = Vector512.Load(acc + w);
            c10 = Vector512.Load(acc + nr); c11 = Vector512.Load(acc + nr + w);
            c20 = Vector512.Load(acc + 2 * nr); c21 = Vector512.Load(acc + 2 * nr + w);
            c30 = Vector512.Load(acc + 3 * nr); c31 = Vector512.Load(acc + 3 * nr + w);
            c40 = Vector512.Load(acc + 4 * nr); c41 = Vector512.Load(acc + 4 * nr + w);
            c50 = Vector512.Load(acc + 5 * nr); c51 = Vector512.Load(acc + 5 * nr + w);
            c60 = Vector512.Load(acc + 6 * nr); c61 = Vector512.Load(acc + 6 * nr + w);
            c70 = Vector512.Load(acc + 7 * nr); c71 = Vector512.Load(acc + 7 * nr + w);
            c80 = Vector512.Load(acc + 8 * nr); c81 = Vector512.Load(acc + 8 * nr + w);
            c90 = Vector512.Load(acc + 9 * nr); c91 = Vector512.Load(acc + 9 * nr + w);
            cA0 = Vector512.Load(acc + 10 * nr); cA1 = Vector512.Load(acc + 10 * nr + w);
            cB0 = Vector512.Load(acc + 11 * nr); cB1 = Vector512.Load(acc + 11 * nr + w);
        }
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(pb);
            Vector512<T> b1 = Vector512.Load(pb + w);
            Vector512<T> a;
            a = Vector512.Create(pa[0]); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(pa[1]); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(pa[2]); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(pa[3]); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(pa[4]); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(pa[5]); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            a = Vector512.Create(pa[6]); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61);
            a = Vector512.Create(pa[7]); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71);
            a = Vector512.Create(pa[8]); c80 = Fma(a, b0, c80); c81 = Fma(a, b1, c81);
            a = Vector512.Create(pa[9]); c90 = Fma(a, b0, c90); c91 = Fma(a, b1, c91);
            a = Vector512.Create(pa[10]); cA0 = Fma(a, b0, cA0); cA1 = Fma(a, b1, cA1);
            a = Vector512.Create(pa[11]); cB0 = Fma(a, b0, cB0); cB1 = Fma(a, b1, cB1);
            pa += R;
            pb += nr;
        }
        Put(c00, c01, direct, acc, c, alpha, beta);
        Put(c10, c11, direct, acc + nr, c + ldc, alpha, beta);
        Put(c20, c21, direct, acc + 2 * nr, c + 2 * ldc, alpha, beta);
        Put(c30, c31, direct, acc + 3 * nr, c + 3 * ldc, alpha, beta);
        Put(c40, c41, direct, acc + 4 * nr, c + 4 * ldc, alpha, beta);
        Put(c50, c51, direct, acc + 5 * nr, c + 5 * ldc, alpha, beta);
        Put(c60, c61, direct, acc + 6 * nr, c + 6 * ldc, alpha, beta);
        Put(c70, c71, direct, acc + 7 * nr, c + 7 * ldc, alpha, beta);
        Put(c80, c81, direct, acc + 8 * nr, c + 8 * ldc, alpha, beta);
        Put(c90, c91, direct, acc + 9 * nr, c + 9 * ldc, alpha, beta);
        Put(cA0, cA1, direct, acc + 10 * nr, c + 10 * ldc, alpha, beta);
        Put(cB0, cB1, direct, acc + 11 * nr, c + 11 * ldc, alpha, beta);
    }

    /// <summary><see cref="Put{T}(Vector512{T}, Vector512{T}, bool, T*, T*, T, T)"/> for <see cref="Vector{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(Vector<T> v0, Vector<T> v1, bool direct, T* acc, T* c, T alpha, T beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector<T>.Count;
        if (!direct)
        {
            Vector.Store(v0, acc);
            Vector.Store(v1, acc + w);
            return;
        }
        Vector<T> va = new(alpha);
        v0 *= va;
        v1 *= va;
        if (beta == T.Zero)
        {
            Vector.Store(v0, c);
            Vector.Store(v1, c + w);
        }
        else
        {
            Vector<T> vb = new(beta);
            Vector.Store(v0 + vb * Vector.Load(c), c);
            Vector.Store(v1 + vb * Vector.Load(c + w), c + w);
        }
    }

    /// <summary>The 6 x 2-vector <see cref="Vector{T}"/> micro-kernel over one k block of kc steps (12 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x2<T>(int kc, T* pa, T* pb, T* acc, bool first, bool direct, T* c, long ldc, T alpha, T beta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int R = 6;
        int w = Vector<T>.Count, nr = 2 * w;
        Vector<T> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first)
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector<T>.Zero;
        }
        else
        {
            c00 = Vector.Load(acc); c01 = Vector.Load(acc + w);
            c10 = Vector.Load(acc + nr); c11 = Vector.Load(acc + nr + w);
            c20 = Vector.Load(acc + 2 * nr); c21 = Vector.Load(acc + 2 * nr + w);
            c30 = Vector.Load(acc + 3 * nr); c31 = Vector.Load(acc + 3 * nr + w);
            c40 = Vector.Load(acc + 4 * nr); c41 = Vector.Load(acc + 4 * nr + w);
            c50 = Vector.Load(acc + 5 * nr); c51 = Vector.Load(acc + 5 * nr + w);
        }
        for (int p = 0; p < kc; p++)
        {
            Vector<T> b0 = Vector.Load(pb);
            Vector<T> b1 = Vector.Load(pb + w);
            Vector<T> a;
            a = new(pa[0]); c00 = ElementwiseLoops.FusedMultiplyAdd(a, b0, c00); c01 = ElementwiseLoops.FusedMultiplyAdd(a, b1, c01);
            a = new(pa[1]); c10 = ElementwiseLoops.FusedMultiplyAdd(a, b0, c10); c11 = ElementwiseLoops.FusedMultiplyAdd(a, b1, c11);
            a = new(pa[2]); c20 = ElementwiseLoops.FusedMultiplyAdd(a, b0, c20); c21 = ElementwiseLoops.FusedMultiplyAdd(a, b1, c21);
            a = new(pa[3]); c30 = ElementwiseLoops.FusedMultiplyAdd(a, b0, c30); c31 = ElementwiseLoops.FusedMultiplyAdd(a, b1, c31);
            a = new(pa[4]); c40 = ElementwiseLoops.FusedMultiplyAdd(a, b0, c40); c41 = ElementwiseLoops.FusedMultiplyAdd(a, b1, c41);
            a = new(pa[5]); c50 = ElementwiseLoops.FusedMultiplyAdd(a, b0, c50); c51 = ElementwiseLoops.FusedMultiplyAdd(a, b1, c51);
            pa += R;
            pb += nr;
        }
        Put(c00, c01, direct, acc, c, alpha, beta);
        Put(c10, c11, direct, acc + nr, c + ldc, alpha, beta);
        Put(c20, c21, direct, acc + 2 * nr, c + 2 * ldc, alpha, beta);
        Put(c30, c31, direct, acc + 3 * nr, c + 3 * ldc, alpha, beta);
        Put(c40, c41, direct, acc + 4 * nr, c + 4 * ldc, alpha, beta);
        Put(c50, c51, direct, acc + 5 * nr, c + 5 * ldc, alpha, beta);
    }
}
