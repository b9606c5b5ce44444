using Xunit;

namespace NativeGrad.Tests;

/// <summary>PyTorch's out= for the arithmetic ops: results written into an existing tensor, checked like PyTorch checks them.</summary>
public class OutParameterTests
{
    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ResultsAreWrittenIntoTheOutTensorAndMatchTheAllocatingOps(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var gen = new Generator(3);
        var a = Tensor.Randn([4, 5], DType.Float32, gen);
        var b = Tensor.Randn([4, 5], DType.Float32, gen);
        var row = Tensor.Randn([5], DType.Float32, gen);
        var output = Tensor.Zeros([4, 5], DType.Float32);
        foreach (var (into, plain) in new (Func<Tensor, Tensor, Tensor, Tensor>, Func<Tensor, Tensor, Tensor>)[]
                 {
                     ((x, y, o) => x.Add(y, o), (x, y) => x + y), ((x, y, o) => x.Sub(y, o), (x, y) => x - y),
                     ((x, y, o) => x.Mul(y, o), (x, y) => x * y), ((x, y, o) => x.Div(y, o), (x, y) => x / y),
                 })
        {
            int version = output.StorageVersion;
            Assert.Same(output, into(a, b, output));
            Assert.Equal(plain(a, b).ToArray<float>(), output.ToArray<float>());
            Assert.True(output.StorageVersion > version, "out= is an in-place write: saved tensors must see it");
            into(a, row, output); // broadcasting operand
            Assert.Equal(plain(a, row).ToArray<float>(), output.ToArray<float>());
            var transposedOut = Tensor.Zeros([5, 4], DType.Float32).T; // non-contiguous out
            into(a, b, transposedOut);
            Assert.Equal(plain(a, b).ToArray<float>(), transposedOut.ToArray<float>());
        }
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void OutMayBeAnInputItself(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var a = Tensor.FromArray([1f, 2f, 3f]);
        var b = Tensor.FromArray([10f, 20f, 30f]);
        a.Add(b, a);
        Assert.Equal([11f, 22f, 33f], a.ToArray<float>());
        var m = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        m.Mul(Tensor.FromArray([1f, 10f, 100f]), m); // out is the broadcast-free operand
        Assert.Equal([1f, 20f, 300f, 4f, 50f, 600f], m.ToArray<float>());
    }

    [Fact]
    public void WrongShapeDtypeOverlapAndGradAreClearErrors()
    {
        var a = Tensor.Ones([2, 3]);
        var b = Tensor.Ones([2, 3]);
        var shape = Assert.Throws<ArgumentException>(() => a.Add(b, Tensor.Zeros([3, 2])));
        Assert.Contains("[3,2]", shape.Message);
        Assert.Contains("[2,3]", shape.Message);
        Assert.Throws<ArgumentException>(() => a.Add(b, Tensor.Zeros([2, 3], DType.Float64)));
        var big = Tensor.Zeros([8]);
        var overlap = Assert.Throws<ArgumentException>(() => big.Narrow(0, 0, 6).Reshape(2, 3).Add(b, big.Narrow(0, 2, 6).Reshape(2, 3)));
        Assert.Contains("single memory location", overlap.Message);
        var w = Tensor.Ones([2, 3]).RequiresGrad_();
        var grad = Assert.Throws<InvalidOperationException>(() => w.Add(b, Tensor.Zeros([2, 3])));
        Assert.Contains("out=", grad.Message);
        using (NativeGrad.Autograd.Autograd.NoGrad())
        {
            var o = Tensor.Zeros([2, 3]);
            w.Add(b, o); // allowed without grad mode, as in PyTorch
            Assert.All(o.ToArray<float>(), v => Assert.Equal(2f, v));
        }
        var disposed = Tensor.Zeros([2, 3]);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.Add(b, disposed));
    }
}
