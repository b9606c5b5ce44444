using System.Numerics;
using System.Runtime.InteropServices;
using NativeGrad.Backends;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>
/// The managed GEMM's contract: every element of C is the fused multiply-add chain over p = 0..k-1 from zero, then
/// alpha*acc (+ beta*C). So it must equal a scalar reference of that chain bit for bit, for every transpose, edge
/// size (m, n not multiples of the register tile; k above the k-block depth), leading dimension, batch layout and
/// thread count. These tests change <see cref="Runtime.Threads"/>: they run in the ThreadCount collection.
/// </summary>
[Collection("ThreadCount")]
public sealed unsafe class ManagedGemmTests
{
    private static readonly ManagedBackend Managed = ManagedBackend.Instance;
    private static readonly int[] EdgeSizes = [1, 7, 33, 130];
    private static readonly int[] EdgeDepths = [1, 7, 33, 130, 300]; // 300 > the k-block depth: partial sums are carried

    private static void WithThreads(int threads, Action body)
    {
        int before = Runtime.Threads;
        Runtime.Threads = threads;
        try { body(); }
        finally { Runtime.Threads = before; }
    }

    private static T[] Random<T>(long n, Random gen) where T : IBinaryFloatingPointIeee754<T>
    {
        var x = new T[n];
        for (long i = 0; i < n; i++) x[i] = T.CreateTruncating(gen.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>One GEMM shape with padded leading dimensions (the padding of C must stay untouched).</summary>
    private sealed record Shape(bool TransA, bool TransB, int M, int N, int K, double Alpha, double Beta, int Batch = 1, bool SharedB = false)
    {
        public long Lda => (TransA ? M : K) + 1;
        public long Ldb => (TransB ? K : N) + 2;
        public long Ldc => N + 1;
        public long StrideA => (TransA ? K : M) * Lda;
        public long StrideB => SharedB ? 0 : (TransB ? N : K) * Ldb;
        public long StrideC => M * Ldc;
    }

    /// <summary>The scalar reference: the same chain of fused multiply-adds, then the same two-rounding epilogue.</summary>
    private static T[] Reference<T>(Shape s, T[] a, T[] b, T[] c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var r = (T[])c.Clone();
        T alpha = T.CreateTruncating(s.Alpha), beta = T.CreateTruncating(s.Beta);
        for (int bi = 0; bi < s.Batch; bi++)
        for (int i = 0; i < s.M; i++)
        for (int j = 0; j < s.N; j++)
        {
            T acc = T.Zero;
            for (int p = 0; p < s.K; p++)
            {
                T av = s.TransA ? a[bi * s.StrideA + p * s.Lda + i] : a[bi * s.StrideA + i * s.Lda + p];
                T bv = s.TransB ? b[bi * s.StrideB + j * s.Ldb + p] : b[bi * s.StrideB + p * s.Ldb + j];
                acc = T.FusedMultiplyAdd(av, bv, acc);
            }
            long ci = bi * s.StrideC + i * s.Ldc + j;
            T scaled = alpha * acc;
            r[ci] = beta == T.Zero ? scaled : scaled + beta * c[ci];
        }
        return r;
    }

    private static T[] RunManaged<T>(Shape s, int threads, T[] a, T[] b, T[] c0) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var c = (T[])c0.Clone();
        DType dtype = typeof(T) == typeof(float) ? DType.Float32 : DType.Float64;
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            T* x = pa, y = pb, z = pc;
            WithThreads(threads, () => Managed.Gemm(dtype, s.TransA, s.TransB, s.M, s.N, s.K, s.Alpha, x, s.Lda, s.StrideA,
                                                    y, s.Ldb, s.StrideB, s.Beta, z, s.Ldc, s.StrideC, s.Batch));
        }
        return c;
    }

    private static void AssertBitwise<T>(T[] expected, T[] actual, Shape s, string what) where T : unmanaged
    {
        ReadOnlySpan<T> e = expected, g = actual;
        if (MemoryMarshal.AsBytes(e).SequenceEqual(MemoryMarshal.AsBytes(g))) return;
        for (int i = 0; i < expected.Length; i++)
            if (!MemoryMarshal.AsBytes(e.Slice(i, 1)).SequenceEqual(MemoryMarshal.AsBytes(g.Slice(i, 1))))
                Assert.Fail($"{what} {s}: element {i}: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>Runs the shape at 1 and 2 threads; both must equal the reference bitwise. beta == 0 gets NaN in C
    /// (it must not be read).</summary>
    private static void Check<T>(Shape s, Random gen) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var a = Random<T>(s.StrideA * s.Batch, gen);
        var b = Random<T>(s.SharedB ? (s.TransB ? s.N : s.K) * s.Ldb : s.StrideB * s.Batch, gen);
        var c = Random<T>(s.StrideC * s.Batch, gen);
        if (s.Beta == 0)
            for (int bi = 0; bi < s.Batch; bi++)
            for (int i = 0; i < s.M; i++)
            for (int j = 0; j < s.N; j++)
                c[bi * s.StrideC + i * s.Ldc + j] = T.NaN;
        T[] expected = Reference(s, a, b, c);
        AssertBitwise(expected, RunManaged(s, 1, a, b, c), s, "1 thread");
        AssertBitwise(expected, RunManaged(s, 2, a, b, c), s, "2 threads");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void EdgeSizesEqualTheFmaChainReferenceBitwise(bool transA, bool transB)
    {
        var gen = new Random((transA ? 1 : 2) + (transB ? 10 : 20));
        int index = 0;
        foreach (int m in EdgeSizes)
        foreach (int n in EdgeSizes)
        foreach (int k in EdgeDepths)
        {
            // cycle alpha/beta so every size meets beta == 0 (C not read), beta == 1 and a general beta
            double alpha = (index % 3) switch { 0 => 1.0, 1 => -0.75, _ => 1.5 };
            double beta = (index / 3 % 3) switch { 0 => 0.0, 1 => 1.0, _ => -0.5 };
            index++;
            var s = new Shape(transA, transB, m, n, k, alpha, beta);
            Check<float>(s, gen);
            Check<double>(s, gen);
        }
    }

    [Theory]
    [InlineData(false, false, 0.0)]
    [InlineData(true, false, 0.5)]
    [InlineData(false, true, 1.0)]
    [InlineData(true, true, -2.0)]
    public void LargeProductsSplitOverThreadsAndKBlocksEqualTheReferenceBitwise(bool transA, bool transB, double beta)
    {
        // Several row chunks, panel groups and k blocks, none of them full at the edges.
        var gen = new Random(7);
        var s = new Shape(transA, transB, 301, 259, 1031, -1.25, beta);
        Check<float>(s, gen);
        Check<double>(s with { M = 77, N = 141, K = 777 }, gen);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BatchedProductsEqualTheReferenceBitwise(bool sharedB)
    {
        // 100^3 per product: small enough that two threads split over the batch rather than inside a product.
        var gen = new Random(sharedB ? 3 : 4);
        Check<float>(new Shape(false, true, 100, 100, 100, 1.0, 0.0, Batch: 3, SharedB: sharedB), gen);
        Check<double>(new Shape(true, false, 100, 97, 103, 0.5, 0.25, Batch: 3, SharedB: sharedB), gen);
        Check<float>(new Shape(true, true, 45, 70, 300, 1.0, 1.0, Batch: 4, SharedB: sharedB), gen);
    }

    [Fact]
    public void ZeroAlphaOrDepthReadsNeitherAnorB()
    {
        const int m = 5, n = 6, k = 7;
        var a = new float[m * k];
        var b = new float[k * n];
        Array.Fill(a, float.NaN);
        Array.Fill(b, float.NaN);
        var c = new float[m * n];
        Array.Fill(c, 2f);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            Managed.Gemm(DType.Float32, false, false, m, n, k, 0.0, pa, k, 0, pb, n, 0, 0.5, pc, n, 0, 1);
            Assert.All(c, v => Assert.Equal(1f, v));
            Managed.Gemm(DType.Float32, false, false, m, n, 0, 1.0, pa, k, 0, pb, n, 0, 3.0, pc, n, 0, 1);
            Assert.All(c, v => Assert.Equal(3f, v));
            Array.Fill(c, float.NaN);
            Managed.Gemm(DType.Float32, false, false, m, n, k, 0.0, pa, k, 0, pb, n, 0, 0.0, pc, n, 0, 1);
            Assert.All(c, v => Assert.Equal(0f, v));
        }
    }
}
