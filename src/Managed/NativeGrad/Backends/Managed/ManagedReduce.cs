using CommunityToolkit.HighPerformance.Buffers;
using System.Runtime.CompilerServices;
using System.Numerics;

namespace NativeGrad.Backends;

/// <summary>
/// Reductions over the middle axis of a contiguous [outer, n, inner] array (ng_reduce).
/// Sum: float accumulates in double; double uses pairwise summation (inner == 1) or Neumaier-compensated column sums
/// (inner &gt; 1). Max/min propagate NaN. Contiguous rows (inner == 1) are vectorised along the row; otherwise the
/// columns are vectorised in cache-sized blocks. Work is split into pieces whose boundaries depend only on the
/// sizes, never on the thread count, so results are reproducible.
/// </summary>
internal static unsafe class ManagedReduce
{
    /// <summary>Columns handled per block when inner &gt; 1 (the accumulators stay in L1).</summary>
    private const int ColumnBlock = 512;

    /// <summary>Elements per independently summed block of a long contiguous row.</summary>
    private const long RowBlock = 1 << 16;

    private const long ParallelWork = 1 << 18;

    public static void Run<T>(ReduceOp op, long outer, long n, long inner, T* x, T* y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (outer < 0 || n < 0 || inner < 0) throw new ArgumentException("Negative size.");
        long outputs = outer * inner;
        if (outputs == 0) return;
        if (n == 0)
        {
            T identity = op switch
            {
                ReduceOp.Sum => T.Zero,
                ReduceOp.Prod => T.One,
                ReduceOp.Max => T.NegativeInfinity,
                ReduceOp.Min => T.PositiveInfinity,
                _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown reduce op."),
            };
            new Span<T>(y, checked((int)outputs)).Fill(identity);
            return;
        }

        if (inner == 1)
        {
            if (op == ReduceOp.Sum && n >= 2 * RowBlock) // split by size only, so the result never depends on the machine
            {
                for (long o = 0; o < outer; o++) y[o] = LongRowSum(x + o * n, n);
                return;
            }
            var rows = new RowTasks<T>(op, n, x, y);
            ManagedParallel.For(outer, n, ParallelWork, ref rows);
            return;
        }

        long blocks = (inner + ColumnBlock - 1) / ColumnBlock;
        var columns = new ColumnBlockTasks<T>(op, blocks, n, inner, x, y);
        ManagedParallel.For(outer * blocks, n * Math.Min(inner, ColumnBlock), ParallelWork, ref columns);
    }

    /// <summary>The body of the row reduction: item o reduces row o.</summary>
    private readonly struct RowTasks<T>(ReduceOp op, long n, T* x, T* y) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Invoke(long o) => y[o] = ReduceRow(op, x + o * n, n);
    }

    /// <summary>The body of the column reduction: item task reduces one block of up to <see cref="ColumnBlock"/>
    /// columns of outer index task / blocks.</summary>
    private readonly struct ColumnBlockTasks<T>(ReduceOp op, long blocks, long n, long inner, T* x, T* y) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Invoke(long task)
        {
            long o = task / blocks;
            long c0 = task % blocks * ColumnBlock;
            int len = (int)Math.Min(ColumnBlock, inner - c0);
            ReduceColumns(op, x + o * n * inner + c0, n, inner, len, y + o * inner + c0);
        }
    }

    // ---- contiguous rows -------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T ReduceRow<T>(ReduceOp op, T* p, long n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (op)
        {
            case ReduceOp.Sum: return T.CreateTruncating(SumRow(p, n));
            case ReduceOp.Prod:
                {
                    double acc = 1.0; // float widened: one rounding at the end; double: plain left-to-right product
                    for (long i = 0; i < n; i++) acc *= double.CreateTruncating(p[i]);
                    return T.CreateTruncating(acc);
                }
            case ReduceOp.Max: return MaxRow(p, n);
            case ReduceOp.Min: return MinRow(p, n);
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown reduce op.");
        }
    }

    /// <summary>
    /// A row too long for one thread: fixed blocks of <see cref="RowBlock"/> summed (in parallel when
    /// <see cref="Runtime.Threads"/> &gt; 1), then combined pairwise. The blocks depend only on n, so 1 and n threads
    /// give bitwise the same sum.
    /// </summary>
    private static T LongRowSum<T>(T* p, long n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const long StackBlocks = 2048; // 16 KB of partials: rows up to 128M elements need no pooled array
        long blocks = (n + RowBlock - 1) / RowBlock;
        int threads = ManagedParallel.Threads;
        if (blocks <= StackBlocks)
        {
            double* partial = stackalloc double[(int)blocks];
            BlockSums(p, n, blocks, partial, threads);
            return T.CreateTruncating(PairwiseSum(partial, blocks));
        }
        using var heap = SpanOwner<double>.Allocate(checked((int)blocks));
        fixed (double* partial = heap.Span)
        {
            BlockSums(p, n, blocks, partial, threads);
            return T.CreateTruncating(PairwiseSum(partial, blocks));
        }
    }

    /// <summary>partial[b] = the sum of block b of the row.</summary>
    private static void BlockSums<T>(T* p, long n, long blocks, double* partial, int threads)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (threads == 1)
        {
            for (long blk = 0; blk < blocks; blk++) partial[blk] = SumRow(p + blk * RowBlock, Math.Min(RowBlock, n - blk * RowBlock));
            return;
        }
        var body = new BlockSumTasks<T>(p, n, partial);
        ManagedParallel.For(blocks, threads, ref body);
    }

    /// <summary>The parallel body of <see cref="BlockSums{T}"/>: item blk sums block blk into partial[blk].</summary>
    private readonly struct BlockSumTasks<T>(T* p, long n, double* partial) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Invoke(long blk)
        {
            long start = blk * RowBlock;
            partial[blk] = SumRow(p + start, Math.Min(RowBlock, n - start));
        }
    }

    /// <summary>Accurate sum of a contiguous row, in double.</summary>
    public static double SumRow<T>(T* p, long n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return WideSum((float*)p, n);
        if (typeof(T) == typeof(double)) return PairwiseSum((double*)p, n);
        throw new NotSupportedException();
    }

    /// <summary>Sum of floats accumulated in double (8 double lanes x 2): relative error ~ n/16 * 2^-53.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double WideSum(float* p, long n)
    {
        long i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<float>.Count)
        {
            Vector<double> acc0 = Vector<double>.Zero, acc1 = Vector<double>.Zero, acc2 = Vector<double>.Zero, acc3 = Vector<double>.Zero;
            int w = Vector<float>.Count;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                Vector.Widen(Vector.Load(p + i), out Vector<double> lo0, out Vector<double> hi0);
                Vector.Widen(Vector.Load(p + i + w), out Vector<double> lo1, out Vector<double> hi1);
                acc0 += lo0;
                acc1 += hi0;
                acc2 += lo1;
                acc3 += hi1;
            }
            sum = Vector.Sum((acc0 + acc1) + (acc2 + acc3));
        }
        for (; i < n; i++) sum += p[i];
        return sum;
    }

    /// <summary>Pairwise summation: error O(log n) ulps; the base case uses 4 vector accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double PairwiseSum(double* p, long n)
    {
        const long BaseCase = 1024;
        if (n > BaseCase)
        {
            long half = n / 2 / BaseCase * BaseCase;
            if (half == 0) half = BaseCase;
            return PairwiseSum(p, half) + PairwiseSum(p + half, n - half);
        }
        long i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && n >= 4 * Vector<double>.Count)
        {
            int w = Vector<double>.Count;
            Vector<double> acc0 = Vector<double>.Zero, acc1 = Vector<double>.Zero, acc2 = Vector<double>.Zero, acc3 = Vector<double>.Zero;
            for (; i <= n - 4 * w; i += 4 * w)
            {
                acc0 += Vector.Load(p + i);
                acc1 += Vector.Load(p + i + w);
                acc2 += Vector.Load(p + i + 2 * w);
                acc3 += Vector.Load(p + i + 3 * w);
            }
            sum = Vector.Sum((acc0 + acc1) + (acc2 + acc3));
        }
        for (; i < n; i++) sum += p[i];
        return sum;
    }

    /// <summary>NaN-propagating maximum of a contiguous row (n &gt;= 1).</summary>
    public static T MaxRow<T>(T* p, long n) where T : unmanaged, IBinaryFloatingPointIeee754<T> => ExtremeRow<T, MaxPick<T>>(p, n);

    /// <summary>NaN-propagating minimum of a contiguous row (n &gt;= 1).</summary>
    public static T MinRow<T>(T* p, long n) where T : unmanaged, IBinaryFloatingPointIeee754<T> => ExtremeRow<T, MinPick<T>>(p, n);

    /// <summary>The row's extreme under <typeparamref name="TPick"/> (the same operator structs as the column blocks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T ExtremeRow<T, TPick>(T* p, long n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TPick : struct, IPick<T>
    {
        long i = 0;
        T m = p[0];
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<T>.Count)
        {
            int w = Vector<T>.Count;
            Vector<T> m0 = Vector.Load(p), m1 = Vector.Load(p + w);
            for (i = 2 * w; i <= n - 2 * w; i += 2 * w)
            {
                m0 = TPick.Pick(Vector.Load(p + i), m0);
                m1 = TPick.Pick(Vector.Load(p + i + w), m1);
            }
            m0 = TPick.Pick(m0, m1);
            m = m0[0];
            for (int l = 1; l < w; l++) m = TPick.Pick(m0[l], m);
        }
        for (; i < n; i++) m = TPick.Pick(p[i], m);
        return m;
    }

    // ---- column blocks (inner > 1) ---------------------------------------------------------------------------

    /// <summary>Reduces x[j*inner + c] over j for the len (&lt;= ColumnBlock) columns starting at x into y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReduceColumns<T>(ReduceOp op, T* x, long n, long inner, int len, T* y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (op)
        {
            case ReduceOp.Sum:
                if (typeof(T) == typeof(float)) SumColumnsWide((float*)x, n, inner, len, (float*)y);
                else SumColumnsCompensated((double*)x, n, inner, len, (double*)y);
                return;
            case ReduceOp.Prod:
                {
                    double* acc = stackalloc double[len];
                    for (int c = 0; c < len; c++) acc[c] = 1.0;
                    for (long j = 0; j < n; j++)
                    {
                        T* row = x + j * inner;
                        for (int c = 0; c < len; c++) acc[c] *= double.CreateTruncating(row[c]);
                    }
                    for (int c = 0; c < len; c++) y[c] = T.CreateTruncating(acc[c]);
                    return;
                }
            case ReduceOp.Max: ExtremeColumns<T, MaxPick<T>>(x, n, inner, len, y); return;
            case ReduceOp.Min: ExtremeColumns<T, MinPick<T>>(x, n, inner, len, y); return;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown reduce op.");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumColumnsWide(float* x, long n, long inner, int len, float* y)
    {
        double* acc = stackalloc double[len];
        new Span<double>(acc, len).Clear();
        int w = Vector<float>.Count;
        int wd = Vector<double>.Count;
        for (long j = 0; j < n; j++)
        {
            float* row = x + j * inner;
            int c = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; c <= len - w; c += w)
                {
                    Vector.Widen(Vector.Load(row + c), out Vector<double> lo, out Vector<double> hi);
                    Vector.Store(Vector.Load(acc + c) + lo, acc + c);
                    Vector.Store(Vector.Load(acc + c + wd) + hi, acc + c + wd);
                }
            }
            for (; c < len; c++) acc[c] += row[c];
        }
        for (int c = 0; c < len; c++) y[c] = (float)acc[c];
    }

    /// <summary>Neumaier-compensated column sums: error independent of n to first order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumColumnsCompensated(double* x, long n, long inner, int len, double* y)
    {
        double* sum = stackalloc double[len];
        double* comp = stackalloc double[len];
        new Span<double>(sum, len).Clear();
        new Span<double>(comp, len).Clear();
        int w = Vector<double>.Count;
        for (long j = 0; j < n; j++)
        {
            double* row = x + j * inner;
            int c = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; c <= len - w; c += w)
                {
                    Vector<double> s = Vector.Load(sum + c), v = Vector.Load(row + c);
                    Vector<double> t = s + v;
                    Vector<double> big = Vector.GreaterThanOrEqual(Vector.Abs(s), Vector.Abs(v)).As<long, double>();
                    Vector<double> err = Vector.ConditionalSelect(big, (s - t) + v, (v - t) + s);
                    Vector.Store(Vector.Load(comp + c) + err, comp + c);
                    Vector.Store(t, sum + c);
                }
            }
            for (; c < len; c++)
            {
                double s = sum[c], v = row[c];
                double t = s + v;
                comp[c] += Math.Abs(s) >= Math.Abs(v) ? (s - t) + v : (v - t) + s;
                sum[c] = t;
            }
        }
        for (int c = 0; c < len; c++)
        {
            double s = sum[c];
            // An infinite partial sum makes the compensation NaN (inf - inf); the plain sum is the right answer then.
            y[c] = double.IsFinite(s) ? s + comp[c] : s;
        }
    }

    private interface IPick<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        static abstract T Pick(T candidate, T current);
        static abstract Vector<T> Pick(Vector<T> candidate, Vector<T> current);
    }

    private struct MaxPick<T> : IPick<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static T Pick(T candidate, T current) => ElementwiseLoops.Maximum(candidate, current);
        public static Vector<T> Pick(Vector<T> candidate, Vector<T> current) => ElementwiseLoops.Maximum(candidate, current);
    }

    private struct MinPick<T> : IPick<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static T Pick(T candidate, T current) => ElementwiseLoops.Minimum(candidate, current);
        public static Vector<T> Pick(Vector<T> candidate, Vector<T> current) => ElementwiseLoops.Minimum(candidate, current);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ExtremeColumns<T, TPick>(T* x, long n, long inner, int len, T* y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TPick : struct, IPick<T>
    {
        new ReadOnlySpan<T>(x, len).CopyTo(new Span<T>(y, len));
        int w = Vector<T>.Count;
        for (long j = 1; j < n; j++)
        {
            T* row = x + j * inner;
            int c = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; c <= len - w; c += w) Vector.Store(TPick.Pick(Vector.Load(row + c), Vector.Load(y + c)), y + c);
            }
            for (; c < len; c++) y[c] = TPick.Pick(row[c], y[c]);
        }
    }
}
