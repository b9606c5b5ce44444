using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests;

public class TensorTests
{
    [Fact]
    public void FactoriesHaveTheRequestedShapeDtypeAndValues()
    {
        Assert.Equal(new long[] { 2, 3 }, Tensor.Zeros(2, 3).Shape.ToArray());
        Assert.Equal(DType.Float32, Tensor.Ones(4).DType);
        Assert.All(Tensor.Ones([2, 2], DType.Float64).ToArray<double>(), v => Assert.Equal(1.0, v));
        Assert.All(Tensor.Full([3], 2.5).ToArray<float>(), v => Assert.Equal(2.5f, v));
        Assert.Equal(0, Tensor.Scalar(7).Dim);
        Assert.Equal(7.0, Tensor.Scalar(7).Item());
    }

    [Fact]
    public void RandnIsSeededAndRoughlyStandardNormal()
    {
        var a = Tensor.Randn([10000], DType.Float64, new Generator(42)).ToArray<double>();
        var b = Tensor.Randn([10000], DType.Float64, new Generator(42)).ToArray<double>();
        Assert.Equal(a, b);
        double mean = a.Average(), variance = a.Select(v => (v - mean) * (v - mean)).Average();
        Assert.InRange(mean, -0.05, 0.05);
        Assert.InRange(variance, 0.95, 1.05);
        var u = Tensor.Rand([10000], DType.Float64, new Generator(1)).ToArray<double>();
        Assert.All(u, v => Assert.InRange(v, 0.0, 1.0));
    }

    [Fact]
    public void FromArrayRoundTripsThroughSpans()
    {
        var t = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        Assert.Equal(new long[] { 2, 3 }, t.Shape.ToArray());
        Assert.Equal(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, t.AsSpan<float>().ToArray());
        Span<float> buffer = stackalloc float[6];
        t.T.Contiguous().CopyTo(buffer);
        Assert.Equal(new[] { 1f, 4f, 2f, 5f, 3f, 6f }, buffer.ToArray());
        Assert.Throws<ArgumentException>(() => Tensor.FromArray([1f, 2f], 3));
        Assert.Throws<ArgumentException>(() => t.ToArray<double>());
    }

    [Fact]
    public void IndexerSelectsAlongLeadingDims()
    {
        var t = Tensor.FromArray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
        Assert.Equal(new[] { 4.0, 5.0, 6.0 }, t[1].ToArray<double>());
        Assert.Equal(6.0, t[1, 2].Item());
        Assert.Equal(3.0, t[0, -1].Item());
        Assert.Throws<IndexOutOfRangeException>(() => t[2]);
    }

    [Fact]
    public void ToStringMatchesPyTorch()
    {
        Assert.Equal("tensor([1., 2., 3.])", Tensor.FromArray([1f, 2f, 3f]).ToString());
        Assert.Equal("tensor(3.)", Tensor.Scalar(3).ToString());
        Assert.Equal("tensor([[0.2996, 0.3159, 0.1794],\n        [1.0000, 2.0000, 3.0000]])",
            Tensor.FromArray([0.2996f, 0.3159f, 0.1794f, 1f, 2f, 3f], 2, 3).ToString());
        Assert.Equal("tensor([1., 2.], requires_grad=True)", Tensor.FromArray([1f, 2f]).RequiresGrad_().ToString());
        Assert.Equal("tensor([2., 4.], grad_fn=<MulBackward0>)", (Tensor.FromArray([1f, 2f]).RequiresGrad_() * 2.0).ToString());
        Assert.Equal("tensor([0.5000, 1.5000], dtype=torch.float64)", Tensor.FromArray([0.5, 1.5]).ToString());
        Assert.Equal("tensor([1.0000e-05, 1.0000e+00])", Tensor.FromArray([1e-5f, 1f]).ToString());
        Assert.Equal("tensor([1, 2, 3])", Tensor.FromArray([1L, 2L, 3L]).ToString());
        Assert.Equal("tensor([nan, 1.])", Tensor.FromArray([float.NaN, 1f]).ToString());
        Assert.Equal("tensor([])", Tensor.Zeros(0).ToString());
    }

    [Fact]
    public void ToStringSummarisesLargeTensors()
    {
        var s = Tensor.Zeros(2000).ToString();
        Assert.Equal("tensor([0., 0., 0.,  ..., 0., 0., 0.])", s);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void MismatchedShapesThrowNamingTheShapes(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var a = Tensor.Ones(2, 3);
        var e1 = Assert.Throws<ArgumentException>(() => a + Tensor.Ones(4, 2));
        Assert.Contains("[2,3]", e1.Message);
        Assert.Contains("[4,2]", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => a.MatMul(Tensor.Ones(4, 5)));
        Assert.Equal("matmul: shapes [2,3] and [4,5] cannot be multiplied", e2.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Ones(3).MatMul(Tensor.Ones(4)));
        Assert.Throws<ArgumentException>(() => a.Reshape(4, 2));
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void BroadcastingFollowsNumPyRules(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var a = Tensor.FromArray([1.0, 2.0, 3.0], 3, 1);
        var b = Tensor.FromArray([10.0, 20.0]);
        var c = a + b;
        Assert.Equal(new long[] { 3, 2 }, c.Shape.ToArray());
        Assert.Equal(new[] { 11.0, 21.0, 12.0, 22.0, 13.0, 23.0 }, c.ToArray<double>());
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void BceWithLogitsIsStableForHugeLogits(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Tensor.FromArray([1000f, -1000f]).RequiresGrad_();
        var y = Tensor.FromArray([0f, 1f]);
        var loss = Functional.BinaryCrossEntropyWithLogits(x, y, reduction: Reduction.None);
        Assert.Equal(new[] { 1000f, 1000f }, loss.ToArray<float>());
        loss.Sum().Backward();
        Assert.Equal(new[] { 1f, -1f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void UsingADisposedTensorThrowsAndDisposingTwiceIsHarmless()
    {
        var t = Tensor.Ones(3);
        t.Dispose();
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.Sum());
        Assert.Throws<ObjectDisposedException>(() => t.ToArray<float>());
    }

    [Fact]
    public void ViewsShareStorageWithTheirBase()
    {
        var t = Tensor.FromArray([1.0, 2.0, 3.0, 4.0], 2, 2);
        var v = t.T;
        Assert.False(v.IsContiguous);
        Assert.Equal(new[] { 1.0, 3.0, 2.0, 4.0 }, v.ToArray<double>());
        using (var view = t.Reshape(4)) { }
        Assert.Equal(new[] { 1.0, 2.0, 3.0, 4.0 }, t.ToArray<double>());
    }
}

public class NumericsTests
{
    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void SumOf16MFloatsIsWithin1e6OfTheDoubleSum(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        using var scope = Tensor.Scope();
        var x = Tensor.Rand([1 << 24], DType.Float32, new Generator(3));
        double exact = 0;
        foreach (var v in x.AsSpan<float>()) exact += v;
        double sum = x.Sum().Item();
        Assert.True(Math.Abs(sum - exact) <= 1e-6 * Math.Abs(exact), $"sum {sum} vs exact {exact}");
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void StableFormsDoNotOverflowForLogitsOf1000(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Tensor.FromArray([1000f, -1000f, 0f], 1, 3).RequiresGrad_();
        var logp = NN.Functional.LogSoftmax(x, -1).ToArray<float>();
        Assert.Equal(0f, logp[0]);
        Assert.Equal(-2000f, logp[1]);
        Assert.Equal(1000f, x.LogSumExp(1).Item(), 3);
        var ce = NN.Functional.CrossEntropy(x, Tensor.FromArray([1L]));
        Assert.Equal(2000f, ce.Item(), 1);
        ce.Backward();
        Assert.All(x.Grad!.ToArray<float>(), g => Assert.True(float.IsFinite(g)));
        Assert.Equal(new[] { 1000f, 0f }, Tensor.FromArray([1000f, -1000f]).Softplus().ToArray<float>());
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void CopyFromWorksOnIntegersToo(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var t = Tensor.FromArray([1L, 2L, 3L, 4L], 2, 2);
        t.CopyFrom(Tensor.FromArray([7L, 9L]));          // broadcast, as PyTorch's copy_
        Assert.Equal(new[] { 7L, 9L, 7L, 9L }, t.ToArray<long>());
        t.CopyFrom(Tensor.FromArray([1.9, -2.9, 3.5, 0.0], 2, 2)); // float to int64 truncates toward zero
        Assert.Equal(new[] { 1L, -2L, 3L, 0L }, t.ToArray<long>());
    }
}
