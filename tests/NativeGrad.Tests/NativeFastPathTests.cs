using NativeGrad.Backends;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>
/// The native backend does a few tiny cases in C# (the call would cost more than the math): products of at most 64
/// multiply-adds, copies of at most 64 contiguous elements and fills of at most 64. They must match the native kernels bit for bit.
/// </summary>
public unsafe class NativeFastPathTests
{
    private static IBackend Native => Backends.Native;

    [Theory]
    [InlineData(1, 3, 5, false, false)] // a vector times a 5x3 weight (W1's forward)
    [InlineData(5, 3, 1, false, false)] // an outer product (W1's weight gradient)
    [InlineData(4, 4, 4, false, true)]  // 64 multiply-adds, B transposed
    [InlineData(3, 2, 5, true, false)]  // A transposed
    [InlineData(2, 4, 7, true, true)]
    public void TinyProductsMatchTheNativeKernelBitwise(int m, int n, int k, bool transA, bool transB)
    {
        var gen = new Random(m * 100 + n * 10 + k);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            // leading dimensions one larger than needed: the loop must follow them, not assume packed rows
            long lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 1, ldc = n;
            long aRows = transA ? k : m, bRows = transB ? n : k;
            var a = new double[aRows * lda];
            var b = new double[bRows * ldb];
            for (int i = 0; i < a.Length; i++) a[i] = gen.NextDouble() * 2 - 1;
            for (int i = 0; i < b.Length; i++) b[i] = gen.NextDouble() * 2 - 1;
            byte[] fast = Product(dtype, a, b, (pa, pb, pc) => Native.Gemm(dtype, transA, transB, m, n, k, 1.0, pa, lda, 0, pb, ldb, 0, 0.0, pc, ldc, 0, 1), m * n);
            byte[] kernel = Product(dtype, a, b, (pa, pb, pc) => Assert.Equal(0, NativeMethods.Gemm((int)dtype, transA ? 1 : 0, transB ? 1 : 0, m, n, k, 1.0,
                pa, lda, 0, pb, ldb, 0, 0.0, pc, ldc, 0, 1)), m * n);
            Assert.Equal(kernel, fast);
        }
    }

    private delegate void Call(void* a, void* b, void* c);

    private static byte[] Product(DType dtype, double[] a, double[] b, Call call, int outputs)
    {
        int size = dtype.ElementSize();
        var pa = new byte[a.Length * size];
        var pb = new byte[b.Length * size];
        var pc = new byte[outputs * size];
        fixed (byte* xa = pa, xb = pb, xc = pc)
        {
            for (int i = 0; i < a.Length; i++) { if (size == 4) ((float*)xa)[i] = (float)a[i]; else ((double*)xa)[i] = a[i]; }
            for (int i = 0; i < b.Length; i++) { if (size == 4) ((float*)xb)[i] = (float)b[i]; else ((double*)xb)[i] = b[i]; }
            call(xa, xb, xc);
        }
        return pc;
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.0)]
    [InlineData(1e40)]       // beyond float: +inf in float32
    [InlineData(1.0000001)]  // rounds in float32
    [InlineData(double.NaN)]
    public void SmallFillsMatchTheNativeKernelBitwise(double value)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            foreach (int n in new[] { 1, 3, 64 })
            {
                var fast = new byte[n * dtype.ElementSize()];
                var kernel = new byte[fast.Length];
                fixed (byte* f = fast, k = kernel)
                {
                    Native.Fill(dtype, n, f, value);
                    Assert.Equal(0, NativeMethods.Fill((int)dtype, n, k, value));
                }
                Assert.Equal(kernel, fast);
            }
        }
    }

    [Theory]
    [InlineData(0)]  // a 0-d tensor
    [InlineData(3)]
    [InlineData(64)]
    public void SmallContiguousCopiesMatchTheNativeKernel(int n)
    {
        using var x = Tensor.Randn(n == 0 ? [] : [n], DType.Float64, new Generator((ulong)n + 1));
        using var _ = Runtime.UseBackend(BackendKind.Native);
        using var copy = x.Clone();
        Assert.Equal(x.ToArray<double>(), copy.ToArray<double>());
        Assert.False(ReferenceEquals(x.Storage, copy.Storage));
    }
}
