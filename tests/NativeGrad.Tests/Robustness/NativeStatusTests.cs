using NativeGrad.Backends;
using Xunit;

namespace NativeGrad.Tests.Robustness;

/// <summary>Every non-zero status of the C ABI reaches the caller as a typed managed exception carrying its message.</summary>
public unsafe class NativeStatusTests
{
    private static IBackend Native => Backends.Native;

    [Fact]
    public void InvalidArgumentsBecomeArgumentExceptionNamingTheFunction()
    {
        float* x = stackalloc float[1];
        float* y = stackalloc float[1];
        var e = Assert.Throws<ArgumentException>(() => Native.Unary(DType.Float32, UnaryOp.Exp, -1, x, y, 0, 0));
        Assert.Contains("ng_unary", e.Message);
        Assert.Contains("n must be >= 0", e.Message);
        Assert.Throws<ArgumentException>(() => Native.Unary(DType.Float32, (UnaryOp)999, 1, x, y, 0, 0));
        Assert.Throws<ArgumentException>(() => Native.Unary(DType.Float32, UnaryOp.Exp, 1, null, y, 0, 0));
        Assert.Throws<ArgumentException>(() => Native.Fill(DType.Float64, long.MaxValue / 4, y, 0));     // more bytes than can exist
        Assert.Throws<ArgumentException>(() => Native.Reduce(DType.Float32, ReduceOp.Sum, 1, 1, 1, x, x)); // output aliases input
        long[] shape = [2, 2], strides = [1, 1];
        float* buffer = stackalloc float[8];
        var overlap = Assert.Throws<ArgumentException>(() => Native.CopyStrided(DType.Float32, shape, buffer, [2, 1], buffer + 4, strides));
        Assert.Contains("share memory", overlap.Message);
    }

    [Fact]
    public void IndicesOutOfRangeBecomeIndexOutOfRangeException()
    {
        float* x = stackalloc float[4];
        float* y = stackalloc float[2];
        long* idx = stackalloc long[] { 0, 7 };
        var e = Assert.Throws<IndexOutOfRangeException>(() => Native.IndexSelect(DType.Float32, 1, 4, 1, x, idx, 2, y));
        Assert.Contains("7", e.Message);
    }

    [Fact]
    public void AnUnsupportedKernelPathBecomesAnException()
    {
        // ng_set_kernel_path is not part of IBackend: the status mapping is shared, so check it through the raw call.
        fixed (byte* name = "bogus\0"u8)
            Assert.Equal(1, NativeMethods.SetKernelPath(name));
        Assert.Contains("unknown path", NativeBackend.Utf8Error());
    }
}
