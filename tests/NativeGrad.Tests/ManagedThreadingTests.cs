using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;
using NativeGrad.Backends;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>These tests change the process-wide <see cref="Runtime.Threads"/>: they run alone.</summary>
[CollectionDefinition("ThreadCount", DisableParallelization = true)]
public sealed class ThreadCountCollection;

/// <summary>
/// The managed backend honours <see cref="Runtime.Threads"/> and its results do not depend on it (fixed work
/// splits); plus the vectorised softmax backward and the inline float exp against double references.
/// </summary>
[Collection("ThreadCount")]
public sealed unsafe class ManagedThreadingTests
{
    private static readonly ManagedBackend Managed = ManagedBackend.Instance;

    /// <summary>Runs <paramref name="body"/> with Runtime.Threads = <paramref name="threads"/>, restoring it after.</summary>
    private static void WithThreads(int threads, Action body)
    {
        int before = Runtime.Threads;
        Runtime.Threads = threads;
        try { body(); }
        finally { Runtime.Threads = before; }
    }

    private static float[] RandomFloats(int n, int seed, double scale = 1.0, double shift = 0.0)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale + shift);
        return a;
    }

    private static void AssertBitwiseEqual(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"element {i}: {expected[i]:R} vs {actual[i]:R}");
    }

    /// <summary>Records the managed thread id that ran each item.</summary>
    private readonly struct RecordThread(int* seen) : IParallelBody
    {
        public void Invoke(long item) => seen[item] = Environment.CurrentManagedThreadId;
    }

    [Fact]
    public void AThreadThatEndsAfterABackwardLeavesNoForgottenTensor()
    {
        // A thread's implicit root gradient (its cached 1) dies with the thread. The GC returning it must not count as
        // user code forgetting tensors, which would make the pool renew the objects it hands out (a stray allocation
        // per pooled storage in every 0 B loop of the process). Runs in the ThreadCount collection, alone.
        static void Flush()
        {
            for (int i = 0; i < 2; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }
        Flush();
        long before = NativeGrad.Storage.StoragePool.ForgottenCount;
        var worker = new Thread(() =>
        {
            using var x = Tensor.FromArray([1f, 2f, 3f]).RequiresGrad_();
            using (Tensor.Scope()) (x * x).Sum().Backward();
        });
        worker.Start();
        worker.Join();
        Flush();
        Assert.Equal(before, NativeGrad.Storage.StoragePool.ForgottenCount);
        // while a tensor really forgotten still counts
        MakeGarbage();
        Flush();
        Assert.True(NativeGrad.Storage.StoragePool.ForgottenCount > before);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MakeGarbage() => _ = Tensor.Ones(7);

    [Theory]
    [InlineData((int)BinaryOp.Add)]
    [InlineData((int)BinaryOp.BceWithLogits)]
    public void ASingleLongRowIsSplitAcrossThreadsWithTheSameResult(int opCode)
    {
        var op = (BinaryOp)opCode;
        // Same-shape contiguous operands collapse into one row; at 2 threads it is cut into pieces. Every element
        // must come out as at 1 thread: both operands contiguous, b a broadcast scalar, and the output aliasing a.
        const int n = (1 << 20) + 37;
        float[] a = RandomFloats(n, 1, 8), b = RandomFloats(n, 2, 0.5, 0.5);
        float[] Run(int threads, bool scalarB, bool inPlace)
        {
            float[] o = inPlace ? (float[])a.Clone() : new float[n];
            float[] bb = scalarB ? [b[0]] : b;
            WithThreads(threads, () =>
            {
                fixed (float* pa = a, pb = bb, po = o)
                    Managed.Binary(DType.Float32, op, [n], inPlace ? po : pa, [1], pb, scalarB ? [0] : [1], po);
            });
            return o;
        }
        foreach (bool scalarB in new[] { false, true })
            foreach (bool inPlace in new[] { false, true })
                AssertBitwiseEqual(Run(1, scalarB, inPlace), Run(2, scalarB, inPlace));
        float[] sum = Run(2, false, false);
        if (op == BinaryOp.Add) for (int i = 0; i < n; i += 4099) Assert.Equal(a[i] + b[i], sum[i]);
    }

    [Fact]
    public void ThreadsOneRunsEveryItemInlineOnTheCallingThread()
    {
        Assert.True(Runtime.NativeAvailable, $"libnativegrad did not load: {Runtime.NativeLoadFailure}");
        var seen = new int[64];
        int caller = Environment.CurrentManagedThreadId;
        WithThreads(1, () =>
        {
            Assert.Equal(1, ManagedParallel.Threads);
            fixed (int* p = seen)
            {
                var body = new RecordThread(p);
                ManagedParallel.For(seen.Length, ref body);
            }
            Assert.All(seen, id => Assert.Equal(caller, id));
        });
        // At 2 the same call may share the items with the pool's one worker, and with no other thread.
        WithThreads(2, () =>
        {
            Assert.Equal(2, ManagedParallel.Threads);
            fixed (int* p = seen)
            {
                var body = new RecordThread(p);
                ManagedParallel.For(seen.Length, ref body);
            }
            Assert.InRange(seen.Distinct().Count(), 1, 2);
        });
    }

    [Fact]
    public void SumOfMillionsOfFloatsIsBitwiseIdenticalAtOneAndTwoThreads()
    {
        const int n = (1 << 22) + 12345; // several fixed blocks plus a ragged tail
        float[] x = RandomFloats(n, 11, 1e3, 1.0);
        float r1 = 0, r2 = 0;
        double d1 = 0, d2 = 0;
        double[] xd = Array.ConvertAll(x, v => (double)v * 1.0000001);
        fixed (float* px = x)
        fixed (double* pd = xd)
        {
            float* p = px;
            double* q = pd;
            WithThreads(1, () =>
            {
                float y; double yd;
                Managed.Reduce(DType.Float32, ReduceOp.Sum, 1, n, 1, p, &y);
                Managed.Reduce(DType.Float64, ReduceOp.Sum, 1, n, 1, q, &yd);
                r1 = y; d1 = yd;
            });
            WithThreads(2, () =>
            {
                float y; double yd;
                Managed.Reduce(DType.Float32, ReduceOp.Sum, 1, n, 1, p, &y);
                Managed.Reduce(DType.Float64, ReduceOp.Sum, 1, n, 1, q, &yd);
                r2 = y; d2 = yd;
            });
        }
        Assert.Equal(BitConverter.SingleToInt32Bits(r1), BitConverter.SingleToInt32Bits(r2));
        Assert.Equal(BitConverter.DoubleToInt64Bits(d1), BitConverter.DoubleToInt64Bits(d2));
        double reference = 0;
        foreach (float v in x) reference += v;
        Assert.True(Math.Abs(r1 - reference) <= 1e-6 * Math.Abs(reference) + 1e-3, $"{r1} vs {reference}");
    }

    [Fact]
    public void RowAndColumnSumsAreBitwiseIdenticalAtOneAndTwoThreads()
    {
        const int rows = 2048, cols = 1024;
        float[] x = RandomFloats(rows * cols, 12);
        float[] rowSums(int t) => Reduce(t, rows, cols, 1);
        float[] colSums(int t) => Reduce(t, 1, rows, cols);
        AssertBitwiseEqual(rowSums(1), rowSums(2));
        AssertBitwiseEqual(colSums(1), colSums(2));

        float[] Reduce(int threads, long outer, long len, long inner)
        {
            var y = new float[outer * inner];
            fixed (float* px = x)
            fixed (float* py = y)
            {
                float* p = px, q = py;
                WithThreads(threads, () => Managed.Reduce(DType.Float32, ReduceOp.Sum, outer, len, inner, p, q));
            }
            return y;
        }
    }

    [Theory]
    [InlineData("add")]
    [InlineData("mul-bcast")]
    [InlineData("exp")]
    [InlineData("tanh")]
    [InlineData("gelu")]
    public void ElementwiseOpsAreBitwiseIdenticalAtOneAndTwoThreads(string op)
    {
        const int rows = 1024, cols = 1024;
        float[] a = RandomFloats(rows * cols, 21, 4), b = RandomFloats(rows * cols, 22, 4);
        AssertBitwiseEqual(Run(1), Run(2));

        float[] Run(int threads)
        {
            var y = new float[rows * cols];
            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* py = y)
            {
                float* x0 = pa, x1 = pb, o = py;
                WithThreads(threads, () =>
                {
                    switch (op)
                    {
                        case "add": Managed.Binary(DType.Float32, BinaryOp.Add, [rows, cols], x0, [cols, 1], x1, [cols, 1], o); break;
                        case "mul-bcast": Managed.Binary(DType.Float32, BinaryOp.Mul, [rows, cols], x0, [cols, 1], x1, [0, 1], o); break;
                        case "exp": Managed.Unary(DType.Float32, UnaryOp.Exp, rows * cols, x0, o, 0, 0); break;
                        case "tanh": Managed.Unary(DType.Float32, UnaryOp.Tanh, rows * cols, x0, o, 0, 0); break;
                        case "gelu": Managed.Unary(DType.Float32, UnaryOp.Gelu, rows * cols, x0, o, 0, 0); break;
                    }
                });
            }
            return y;
        }
    }

    [Fact]
    public void GemmIsBitwiseIdenticalAtOneAndTwoThreads()
    {
        const int n = 256;
        float[] a = RandomFloats(n * n, 31), b = RandomFloats(n * n, 32);
        AssertBitwiseEqual(Run(1), Run(2));

        float[] Run(int threads)
        {
            var c = new float[n * n];
            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* pc = c)
            {
                float* x = pa, y = pb, z = pc;
                WithThreads(threads, () => Managed.Gemm(DType.Float32, false, false, n, n, n, 1, x, n, 0, y, n, 0, 0, z, n, 0, 1));
            }
            return c;
        }
    }

    [Theory]
    [InlineData(false, 512, 1024)]
    [InlineData(true, 512, 1024)]
    [InlineData(false, 300, 37)] // vector body plus scalar tail
    [InlineData(true, 3, 1029)]
    public void SoftmaxForwardAndBackwardMatchDoubleReferencesAndDoNotDependOnThreads(bool log, int rows, int cols)
    {
        float[] x = RandomFloats(rows * cols, 41, 3), g = RandomFloats(rows * cols, 42);
        (float[] y1, float[] dx1) = Run(1);
        (float[] y2, float[] dx2) = Run(2);
        AssertBitwiseEqual(y1, y2);
        AssertBitwiseEqual(dx1, dx2);

        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            double max = double.NegativeInfinity;
            for (int i = 0; i < cols; i++) max = Math.Max(max, x[o + i]);
            double s = 0;
            for (int i = 0; i < cols; i++) s += Math.Exp(x[o + i] - max);
            var yr = new double[cols];
            for (int i = 0; i < cols; i++) yr[i] = log ? x[o + i] - max - Math.Log(s) : Math.Exp(x[o + i] - max) / s;
            double t = 0;
            for (int i = 0; i < cols; i++) t += log ? g[o + i] : g[o + i] * yr[i];
            for (int i = 0; i < cols; i++)
            {
                double want = log ? g[o + i] - Math.Exp(yr[i]) * t : yr[i] * (g[o + i] - t);
                Assert.True(Math.Abs(y1[o + i] - yr[i]) <= 2e-6 * Math.Abs(yr[i]) + 1e-7, $"y[{r},{i}]: {y1[o + i]} vs {yr[i]}");
                Assert.True(Math.Abs(dx1[o + i] - want) <= 1e-5 * (Math.Abs(want) + Math.Abs(t) * Math.Abs(log ? Math.Exp(yr[i]) : yr[i])) + 1e-7,
                            $"dx[{r},{i}]: {dx1[o + i]} vs {want}");
            }
        }

        (float[] Y, float[] Dx) Run(int threads)
        {
            var y = new float[rows * cols];
            var dx = new float[rows * cols];
            fixed (float* px = x)
            fixed (float* pg = g)
            fixed (float* py = y)
            fixed (float* pd = dx)
            {
                float* a = px, b = pg, c = py, d = pd;
                WithThreads(threads, () =>
                {
                    Managed.Softmax(DType.Float32, log, rows, cols, a, c);
                    Managed.SoftmaxBackward(DType.Float32, log, rows, cols, c, b, d);
                });
            }
            return (y, dx);
        }
    }

    [Fact]
    public void SoftmaxBackwardInPlaceOverTheGradientInDouble()
    {
        const int rows = 64, cols = 203;
        var rng = new Random(5);
        var x = new double[rows * cols];
        var g = new double[rows * cols];
        for (int i = 0; i < x.Length; i++) { x[i] = rng.NextDouble() * 6 - 3; g[i] = rng.NextDouble() - 0.5; }
        var y = new double[x.Length];
        var expected = new double[x.Length];
        fixed (double* px = x)
        fixed (double* py = y)
        fixed (double* pg = g)
        {
            Managed.Softmax(DType.Float64, false, rows, cols, px, py);
            for (int r = 0; r < rows; r++)
            {
                double t = 0;
                for (int i = 0; i < cols; i++) t += g[r * cols + i] * y[r * cols + i];
                for (int i = 0; i < cols; i++) expected[r * cols + i] = y[r * cols + i] * (g[r * cols + i] - t);
            }
            Managed.SoftmaxBackward(DType.Float64, false, rows, cols, py, pg, pg); // dx aliases g
        }
        for (int i = 0; i < g.Length; i++) Assert.True(Math.Abs(g[i] - expected[i]) <= 1e-14, $"{i}: {g[i]} vs {expected[i]}");
    }

    [Fact]
    public void InlineFloatExpIsWithinTwoUlpsIncludingDenormalsAndSpecials()
    {
        int w = Vector<float>.Count;
        var inputs = new List<float> { 0f, -0f, 1f, -1f, 88.7f, 88.72283f, 88.73f, 100f, -87.3f, -88f, -100f, -103.9f, -104f, -200f,
                                       float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-8f, -1e-8f };
        var rng = new Random(9);
        for (int i = 0; i < 20000; i++) inputs.Add((float)(rng.NextDouble() * 208 - 104));
        while (inputs.Count % w != 0) inputs.Add(0.5f);
        float[] xs = inputs.ToArray();
        var ys = new float[xs.Length];
        for (int i = 0; i < xs.Length; i += w)
            VectorMath.ExpSingle(new Vector<float>(xs, i)).CopyTo(ys, i);
        for (int i = 0; i < xs.Length; i++)
        {
            float want = (float)Math.Exp(xs[i]);
            if (float.IsNaN(want)) { Assert.True(float.IsNaN(ys[i]), $"exp({xs[i]}) = {ys[i]}"); continue; }
            long ulps = Math.Abs((long)BitConverter.SingleToInt32Bits(ys[i]) - BitConverter.SingleToInt32Bits(want));
            Assert.True(ulps <= 2, $"exp({xs[i]:R}) = {ys[i]:R}, want {want:R} ({ulps} ulp)");
        }
    }
}
