using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>nll_loss / cross_entropy as PyTorch's single op: its node names, ignored targets, errors and higher-order graph.</summary>
public class NllLossTests
{
    private static readonly Tensor Target = Tensor.FromArray([1L, 3L, 0L]);

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void OneNodeNamedAsInPyTorch(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Tensor.Randn([3, 4], DType.Float32, new Generator(1), requiresGrad: true);
        Assert.Equal("NllLossBackward0", Functional.CrossEntropy(x, Target).GradFn!.Name);
        Assert.Equal("NllLossBackward0", Functional.NllLoss(x, Target, reduction: Reduction.None).GradFn!.Name);
        var loss = Functional.CrossEntropy(x, Target);
        Assert.Equal("LogSoftmaxBackward0", loss.GradFn!.NextFunctions[0].Node!.Name);
        var x4 = Tensor.Randn([2, 3, 2, 2], DType.Float32, new Generator(2), requiresGrad: true);
        Assert.Equal("NllLoss2DBackward0", Functional.CrossEntropy(x4, Tensor.Zeros([2, 2, 2], DType.Int64)).GradFn!.Name);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void IgnoredTargetsGetNoGradientAndDoNotCountInTheMean(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Tensor.FromArray([-1.0, -2.0, -3.0, -4.0, -5.0, -6.0], 2, 3).RequiresGrad_();
        var loss = Functional.NllLoss(x, Tensor.FromArray([2L, -100L]));
        Assert.Equal(3.0, loss.Item());
        loss.Backward();
        Assert.Equal(new[] { 0.0, 0.0, -1.0, 0.0, 0.0, 0.0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void TheMeanOfOnlyIgnoredTargetsIsNaN()
    {
        var x = Tensor.FromArray([-1.0, -2.0], 1, 2);
        Assert.True(double.IsNaN(Functional.NllLoss(x, Tensor.FromArray([-100L])).Item()));
    }

    [Fact]
    public void ATargetOutOfRangeThrowsWithTheTarget()
    {
        var x = Tensor.Zeros([2, 3], DType.Float32);
        var e = Assert.Throws<IndexOutOfRangeException>(() => Functional.NllLoss(x, Tensor.FromArray([0L, 3L])));
        Assert.Contains("Target 3 is out of bounds", e.Message);
    }

    [Fact]
    public void AnInPlaceChangeOfTheTargetBeforeBackwardIsDetected()
    {
        var x = Tensor.Randn([2, 3], DType.Float64, new Generator(3), requiresGrad: true);
        var target = Tensor.FromArray([0L, 1L]);
        var loss = Functional.NllLoss(x, target);
        target.CopyFrom(Tensor.FromArray([2L, 2L]));
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("modified by an inplace operation", e.Message);
    }

    [Fact]
    public void TheBackwardIsDifferentiableInItsIncomingGradient()
    {
        var x = Tensor.Randn([2, 3], DType.Float64, new Generator(4), requiresGrad: true);
        var g = Tensor.FromArray([0.5, -2.0]).RequiresGrad_();
        var losses = Functional.NllLoss(x, Tensor.FromArray([2L, 0L]), reduction: Reduction.None);
        var gx = Autograd.Autograd.Grad([losses], [x], [g], createGraph: true)[0]!;
        Assert.Equal("NllLossBackwardBackward0", gx.GradFn!.Name);
        Assert.Equal(new[] { 0.0, 0.0, -0.5, 2.0, 0.0, 0.0 }, gx.ToArray<double>());
        var v = Tensor.FromArray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
        var gg = Autograd.Autograd.Grad([(gx * v).Sum()], [g])[0]!;
        Assert.Equal(new[] { -3.0, -4.0 }, gg.ToArray<double>()); // -v[n, t[n]]
    }

    [Theory]
    [InlineData(new long[] { 2, 3 }, new long[] { 3 }, "expected target of shape [2] for input of shape [2,3], got [3]")]
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 2, 5 }, "expected target of shape [2,4] for input of shape [2,3,4], got [2,5]")]
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 2 }, "expected target of shape [2,4] for input of shape [2,3,4], got [2]")]
    [InlineData(new long[] { 3 }, new long[] { 1 }, "expected target of shape [1] for input of shape [3], got [1]")]
    public void ATargetOfTheWrongShapeThrowsWithBothShapes(long[] inputShape, long[] targetShape, string message)
    {
        var x = Tensor.Zeros(inputShape, DType.Float32);
        var e = Assert.Throws<ArgumentException>(() => Functional.NllLoss(x, Tensor.Zeros(targetShape, DType.Int64)));
        Assert.Equal("nll_loss: " + message, e.Message);
    }
}
