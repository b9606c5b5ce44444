using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>Size-0 dims behave as in PyTorch: reductions give their identities, shapes flow through, backward works.</summary>
public class EmptyTensorTests
{
    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ReductionsOfEmptyTensorsGiveTheirIdentities(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var e = Tensor.Zeros([0, 3], DType.Float64, requiresGrad: true);
        Assert.Equal(0.0, e.Sum().Item());
        Assert.Equal(new[] { 0.0, 0.0, 0.0 }, e.Sum(0).ToArray<double>());
        Assert.True(double.IsNaN(e.Mean().Item()));
        Assert.Equal(new[] { 1.0, 1.0, 1.0 }, e.Prod(0).ToArray<double>());
        Assert.All(e.LogSumExp(0).ToArray<double>(), v => Assert.Equal(double.NegativeInfinity, v));
        Assert.All(e.Var([0]).ToArray<double>(), v => Assert.True(double.IsNaN(v)));
        Assert.Throws<ArgumentException>(() => e.Amax([0]));
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void EmptyShapesFlowThroughOpsAndBackward(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var e = Tensor.Zeros([0, 3], DType.Float64, requiresGrad: true);
        Assert.Equal(new long[] { 0, 3 }, (e.Exp() + Tensor.Ones([3], DType.Float64)).Shape.ToArray());
        Assert.Equal(new long[] { 0, 2 }, e.MatMul(Tensor.Ones([3, 2], DType.Float64)).Shape.ToArray());
        Assert.Equal(new long[] { 0, 3 }, Functional.Softmax(e, -1).Shape.ToArray());
        Assert.Equal(new long[] { 3, 0 }, e.Reshape(3, 0).Shape.ToArray());
        Assert.Equal(new long[] { 2, 3 }, Tensor.Cat([e, Tensor.Ones([2, 3], DType.Float64)], 0).Shape.ToArray());
        var k0 = Tensor.Zeros([2, 0], DType.Float64).MatMul(Tensor.Zeros([0, 3], DType.Float64));
        Assert.Equal(new double[6], k0.ToArray<double>());
        e.Exp().Sum().Backward();
        Assert.Equal(new long[] { 0, 3 }, e.Grad!.Shape.ToArray());
        Assert.Equal("tensor([], size=(0, 3), dtype=torch.float64)", Tensor.Zeros([0, 3], DType.Float64).ToString());
    }
}
