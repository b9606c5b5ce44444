using System.Runtime.CompilerServices;
using System.Numerics;

namespace NativeGrad.Backends;

/// <summary>
/// Row-wise softmax / log_softmax over a contiguous [rows, cols] array (ng_softmax) and its backward
/// (ng_softmax_backward). The forward subtracts the row maximum first (so logits of +-1000 are fine), takes the
/// exponentials with <see cref="VectorMath.ExpInline{T}(Vector{T})"/> and sums them in double lanes; the backward sums
/// g*y (softmax) or g (log_softmax) in double lanes, then makes one vector pass. Rows are independent; large inputs
/// are split into fixed blocks of rows across at most <see cref="Runtime.Threads"/> workers (inline at 1 thread), so
/// the result never depends on the thread count.
/// </summary>
/// <remarks>
/// The row kernels are <see cref="MethodImplOptions.AggressiveOptimization"/> loops with the vector math inlined,
/// not TensorPrimitives calls: those are generic methods that start in tier-0 code (vector intrinsics not
/// expanded, ~10x slower) and took over a second of calls to reach tier 1, which is what the 19-24 ms kernel
/// micro-benchmark numbers (vs 1.5-3.1 ms for the same call in W7) measured.
/// </remarks>
internal static unsafe class ManagedSoftmax
{
    private const long ParallelWork = 1 << 16;

    /// <summary>Elements per parallel task (as in the C driver: 16384 / cols rows, at least one).</summary>
    private const long TaskElements = 16384;

    public static void Run<T>(bool log, long rows, long cols, T* x, T* y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows < 0 || cols < 0) throw new ArgumentException("Negative size.");
        if (rows == 0 || cols == 0) return;
        int threads = ManagedParallel.Threads;
        if (rows == 1 || rows * cols < ParallelWork || threads == 1)
        {
            for (long r = 0; r < rows; r++) Row(log, x + r * cols, y + r * cols, cols);
            return;
        }
        RunParallel(log, rows, cols, x, y, threads);
    }

    private static void RunParallel<T>(bool log, long rows, long cols, T* x, T* y, int threads)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long per = Math.Max(1, TaskElements / cols);
        var body = new ForwardRows<T>(log, rows, cols, per, x, y);
        ManagedParallel.For((rows + per - 1) / per, threads, ref body);
    }

    /// <summary>The parallel body of the forward: item task is rows [task * per, (task + 1) * per).</summary>
    private readonly struct ForwardRows<T>(bool log, long rows, long cols, long per, T* x, T* y) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Invoke(long task)
        {
            long end = Math.Min(rows, (task + 1) * per);
            for (long r = task * per; r < end; r++) Row(log, x + r * cols, y + r * cols, cols);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row<T>(bool log, T* x, T* y, long cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T max = ManagedReduce.MaxRow(x, cols); // NaN anywhere makes the whole row NaN, as in torch
        if (!log)
        {
            // y = exp(x - max) * (1 / sum(exp(x - max))) (torch also scales by the reciprocal; a vector divide
            // per element cost ~0.5 ms of 3.4 at 4096 x 1024); y may be x.
            T inv = T.CreateTruncating(1.0 / ExpShifted(x, max, y, cols));
            long i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                long w = Vector<T>.Count;
                Vector<T> vi = new(inv);
                for (; i <= cols - w; i += w) Vector.Store(Vector.Load(y + i) * vi, y + i);
            }
            for (; i < cols; i++) y[i] *= inv;
            return;
        }

        // y = (x - max) - log(sum(exp(x - max))); the exponentials are only summed (y may be x).
        T logSum = T.CreateTruncating(Math.Log(ExpShifted(x, max, null, cols)));
        long j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            long w = Vector<T>.Count;
            Vector<T> vm = new(max), vl = new(logSum);
            for (; j <= cols - w; j += w) Vector.Store((Vector.Load(x + j) - vm) - vl, y + j);
        }
        for (; j < cols; j++) y[j] = (x[j] - max) - logSum;
    }

    /// <summary>sum(exp(x - max)) in double lanes; stores the exponentials into y unless y is null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double ExpShifted<T>(T* x, T max, T* y, long cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated)
        {
            long w = Vector<T>.Count;
            Vector<T> vm = new(max);
            Vector<double> a0 = Vector<double>.Zero, a1 = Vector<double>.Zero;
            for (; i <= cols - w; i += w)
            {
                Vector<T> e = VectorMath.ExpInline(Vector.Load(x + i) - vm);
                if (y != null) Vector.Store(e, y + i);
                if (typeof(T) == typeof(float))
                {
                    Vector.Widen(e.As<T, float>(), out Vector<double> lo, out Vector<double> hi);
                    a0 += lo;
                    a1 += hi;
                }
                else a0 += e.As<T, double>();
            }
            sum = Vector.Sum(a0 + a1);
        }
        for (; i < cols; i++)
        {
            T e = T.Exp(x[i] - max);
            if (y != null) y[i] = e;
            sum += double.CreateTruncating(e);
        }
        return sum;
    }

    /// <summary>
    /// ng_softmax_backward: softmax dx = y (g - sum(g y)); log_softmax dx = g - exp(y) sum(g). The row sums are
    /// accumulated in double and rounded once to T, the second pass runs in T (the C kernels' formulas). dx may equal g.
    /// </summary>
    public static void Backward<T>(bool log, long rows, long cols, T* y, T* g, T* dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows < 0 || cols < 0) throw new ArgumentException("Negative size.");
        if (rows == 0 || cols == 0) return;
        int threads = ManagedParallel.Threads;
        if (rows == 1 || rows * cols < ParallelWork || threads == 1)
        {
            for (long r = 0; r < rows; r++) BackwardRow(log, y + r * cols, g + r * cols, dx + r * cols, cols);
            return;
        }
        BackwardParallel(log, rows, cols, y, g, dx, threads);
    }

    private static void BackwardParallel<T>(bool log, long rows, long cols, T* y, T* g, T* dx, int threads)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long per = Math.Max(1, TaskElements / cols);
        var body = new BackwardRows<T>(log, rows, cols, per, y, g, dx);
        ManagedParallel.For((rows + per - 1) / per, threads, ref body);
    }

    /// <summary>The parallel body of the backward: item task is rows [task * per, (task + 1) * per).</summary>
    private readonly struct BackwardRows<T>(bool log, long rows, long cols, long per, T* y, T* g, T* dx) : IParallelBody
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Invoke(long task)
        {
            long end = Math.Min(rows, (task + 1) * per);
            for (long r = task * per; r < end; r++) BackwardRow(log, y + r * cols, g + r * cols, dx + r * cols, cols);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardRow<T>(bool log, T* y, T* g, T* dx, long cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T st = T.CreateTruncating(log ? ManagedReduce.SumRow(g, cols) : Dot(g, y, cols));
        long i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            long w = Vector<T>.Count;
            Vector<T> vs = new(st);
            if (log)
            {
                for (; i <= cols - w; i += w)
                    Vector.Store(ElementwiseLoops.FusedMultiplyAdd(-VectorMath.ExpInline(Vector.Load(y + i)), vs, Vector.Load(g + i)), dx + i);
            }
            else
            {
                for (; i <= cols - w; i += w)
                {
                    Vector<T> yy = Vector.Load(y + i);
                    Vector.Store(yy * (Vector.Load(g + i) - vs), dx + i);
                }
            }
        }
        if (log) for (; i < cols; i++) dx[i] = T.FusedMultiplyAdd(-T.Exp(y[i]), st, g[i]);
        else for (; i < cols; i++) dx[i] = y[i] * (g[i] - st);
    }

    /// <summary>sum(g y) in double lanes (float widened; 2 x 2 accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Dot<T>(T* g, T* y, long n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated)
        {
            long w = Vector<T>.Count;
            Vector<double> a0 = Vector<double>.Zero, a1 = Vector<double>.Zero, a2 = Vector<double>.Zero, a3 = Vector<double>.Zero;
            if (typeof(T) == typeof(float))
            {
                float* gf = (float*)g, yf = (float*)y;
                for (; i <= n - 2 * w; i += 2 * w)
                {
                    Vector.Widen(Vector.Load(gf + i), out Vector<double> g0, out Vector<double> g1);
                    Vector.Widen(Vector.Load(yf + i), out Vector<double> y0, out Vector<double> y1);
                    Vector.Widen(Vector.Load(gf + i + w), out Vector<double> g2, out Vector<double> g3);
                    Vector.Widen(Vector.Load(yf + i + w), out Vector<double> y2, out Vector<double> y3);
                    a0 = Vector.FusedMultiplyAdd(g0, y0, a0);
                    a1 = Vector.FusedMultiplyAdd(g1, y1, a1);
                    a2 = Vector.FusedMultiplyAdd(g2, y2, a2);
                    a3 = Vector.FusedMultiplyAdd(g3, y3, a3);
                }
            }
            else
            {
                double* gd = (double*)g, yd = (double*)y;
                for (; i <= n - 4 * w; i += 4 * w)
                {
                    a0 = Vector.FusedMultiplyAdd(Vector.Load(gd + i), Vector.Load(yd + i), a0);
                    a1 = Vector.FusedMultiplyAdd(Vector.Load(gd + i + w), Vector.Load(yd + i + w), a1);
                    a2 = Vector.FusedMultiplyAdd(Vector.Load(gd + i + 2 * w), Vector.Load(yd + i + 2 * w), a2);
                    a3 = Vector.FusedMultiplyAdd(Vector.Load(gd + i + 3 * w), Vector.Load(yd + i + 3 * w), a3);
                }
            }
            sum = Vector.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < n; i++) sum += double.CreateTruncating(g[i]) * double.CreateTruncating(y[i]);
        return sum;
    }
}
