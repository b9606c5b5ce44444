using NativeGrad.Autograd;
using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests;

public class AutogradTests
{
    private static void Close(double expected, double actual, double tol = 1e-6) => Assert.InRange(actual, expected - tol, expected + tol);

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void GradientOfXTimesYPlusYSquared(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Tensor.Scalar(2.0, requiresGrad: true);
        var y = Tensor.Scalar(3.0, requiresGrad: true);
        var z = x * y + y.Pow(2);
        Assert.Equal("AddBackward0", z.GradFn!.Name);
        z.Backward();
        Assert.Equal(3.0, x.Grad!.Item());
        Assert.Equal(8.0, y.Grad!.Item());
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void TutorialGraphHasPyTorchNodeNamesAndEqualRows(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Tensor.Ones(5);
        var y = Tensor.Zeros(3);
        var w = Tensor.Randn([5, 3], DType.Float32, new Generator(1), requiresGrad: true);
        var b = Tensor.Randn([3], DType.Float32, new Generator(2), requiresGrad: true);
        var z = x.MatMul(w) + b;
        var loss = Functional.BinaryCrossEntropyWithLogits(z, y);
        Assert.Equal("AddBackward0", z.GradFn!.Name);
        Assert.Equal("BinaryCrossEntropyWithLogitsBackward0", loss.GradFn!.Name);
        loss.Backward();
        var wg = w.Grad!.ToArray<float>();
        var bg = b.Grad!.ToArray<float>();
        var zv = z.ToArray<float>();
        for (int j = 0; j < 3; j++)
        {
            // d loss / d b_j = (sigmoid(z_j) - 0) / 3; every row of w.grad equals b.grad since x is all ones.
            Close(1.0 / (1.0 + Math.Exp(-zv[j])) / 3.0, bg[j]);
            for (int i = 0; i < 5; i++) Assert.Equal(bg[j], wg[i * 3 + j]);
        }
    }

    [Fact]
    public void MatmulPicksPyTorchNodeNames()
    {
        var v = Tensor.Randn([3], DType.Float64, new Generator(1), requiresGrad: true);
        var m = Tensor.Randn([3, 3], DType.Float64, new Generator(2), requiresGrad: true);
        Assert.Equal("DotBackward0", v.MatMul(v).GradFn!.Name);
        Assert.Equal("MvBackward0", m.MatMul(v).GradFn!.Name);
        Assert.Equal("MmBackward0", m.MatMul(m).GradFn!.Name);
        Assert.Equal("SumBackward0", m.Sum().GradFn!.Name);
        Assert.Equal("MeanBackward0", m.Mean().GradFn!.Name);
        Assert.Equal("MulBackward0", (m * m).GradFn!.Name);
        Assert.Equal("PowBackward0", m.Pow(3).GradFn!.Name);
    }

    [Fact]
    public void GradAccumulatesAcrossBackwardCallsUntilZeroed()
    {
        var x = Tensor.Scalar(1.5, DType.Float64, requiresGrad: true);
        (x * 2.0).Backward();
        (x * 2.0).Backward();
        Assert.Equal(4.0, x.Grad!.Item());
        x.ZeroGrad();
        Assert.Null(x.Grad);
        (x * 3.0).Backward();
        Assert.Equal(3.0, x.Grad!.Item());
    }

    [Fact]
    public void NoGradScopeRecordsNothingAndIsThreadLocal()
    {
        var w = Tensor.Ones([2], DType.Float32, requiresGrad: true);
        Tensor inside;
        bool otherThreadRecords = false;
        using (Autograd.Autograd.NoGrad())
        {
            inside = w * 2.0;
            var t = new Thread(() => otherThreadRecords = (w * 2.0).RequiresGrad);
            t.Start();
            t.Join();
        }
        Assert.False(inside.RequiresGrad);
        Assert.Null(inside.GradFn);
        Assert.True(otherThreadRecords);
        Assert.True((w * 2.0).RequiresGrad);
    }

    [Fact]
    public void DetachSharesDataButLeavesTheGraph()
    {
        var w = Tensor.Ones([3], DType.Float32, requiresGrad: true);
        var z = w * 2.0;
        var d = z.Detach();
        Assert.False(d.RequiresGrad);
        Assert.True(d.IsLeaf);
        Assert.Equal(z.ToArray<float>(), d.ToArray<float>());
    }

    [Fact]
    public void RequiresGradCanOnlyBeChangedOnLeaves()
    {
        var w = Tensor.Ones([3], DType.Float32, requiresGrad: true);
        var z = w * 2.0;
        var e = Assert.Throws<InvalidOperationException>(() => z.RequiresGrad = false);
        Assert.Contains("leaf variables", e.Message);
        Assert.Throws<InvalidOperationException>(() => Tensor.FromArray([1L, 2L]).RequiresGrad = true);
    }

    [Fact]
    public void BackwardOnNonScalarWithoutGradientThrows()
    {
        var w = Tensor.Ones([3], DType.Float32, requiresGrad: true);
        var e = Assert.Throws<InvalidOperationException>(() => (w * 2.0).Backward());
        Assert.Contains("scalar outputs", e.Message);
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void BackwardWithGradientOfWrongShapeThrows()
    {
        var w = Tensor.Ones([3], DType.Float32, requiresGrad: true);
        var e = Assert.Throws<ArgumentException>(() => (w * 2.0).Backward(Tensor.Ones(2)));
        Assert.Contains("[2]", e.Message);
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void SecondBackwardThroughFreedGraphThrowsPyTorchsError()
    {
        var x = Tensor.Ones([3], DType.Float64, requiresGrad: true);
        var loss = (x * x).Sum();
        loss.Backward();
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("Trying to backward through the graph a second time", e.Message);
    }

    [Fact]
    public void RetainGraphAllowsASecondBackward()
    {
        var x = Tensor.Ones([3], DType.Float64, requiresGrad: true);
        var loss = (x * x).Sum();
        loss.Backward(retainGraph: true);
        loss.Backward();
        Assert.Equal(new[] { 4.0, 4.0, 4.0 }, x.Grad!.ToArray<double>());
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ChainOfOneHundredThousandOpsDoesNotOverflowTheStack(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Tensor.Scalar(1.0, DType.Float64, requiresGrad: true);
        var y = x;
        for (int i = 0; i < 100_000; i++) y = y * 1.0;
        y.Backward();
        Assert.Equal(1.0, x.Grad!.Item());
    }

    [Fact]
    public void GradOfAnUnusedInputIsNullInBackward()
    {
        var a = Tensor.Ones([2], DType.Float64, requiresGrad: true);
        var unused = Tensor.Ones([2], DType.Float64, requiresGrad: true);
        (a * 2.0).Sum().Backward();
        Assert.Null(unused.Grad);
    }

    [Fact]
    public void NonLeafGradIsNullUnlessRetained()
    {
        var x = Tensor.Ones([2], DType.Float64, requiresGrad: true);
        var h = x * 3.0;
        var k = x * 4.0;
        k.RetainGrad();
        (h.Sum() + k.Sum()).Backward();
        Assert.Null(h.Grad);
        Assert.Equal(new[] { 1.0, 1.0 }, k.Grad!.ToArray<double>());
        Assert.Equal(new[] { 7.0, 7.0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void AutogradGradReturnsGradientsWithoutTouchingGrad()
    {
        var x = Tensor.FromArray([1.0, 2.0, 3.0]).RequiresGrad_();
        var y = (x * x).Sum();
        var g = Autograd.Autograd.Grad(y, x)!;
        Assert.Equal(new[] { 2.0, 4.0, 6.0 }, g.ToArray<double>());
        Assert.Null(x.Grad);
    }

    [Fact]
    public void CreateGraphGivesSecondDerivatives()
    {
        var x = Tensor.FromArray([0.5, -1.0]).RequiresGrad_();
        var y = x.Tanh().Sum();
        var g = Autograd.Autograd.Grad(y, x, createGraph: true)!;
        Assert.NotNull(g.GradFn);
        var h = Autograd.Autograd.Grad(g.Sum(), x)!.ToArray<double>();
        double[] xs = [0.5, -1.0];
        for (int i = 0; i < 2; i++)
        {
            double t = Math.Tanh(xs[i]);
            Close(-2 * t * (1 - t * t), h[i], 1e-12);
        }
    }

    [Fact]
    public void TensorHookCanReplaceTheGradient()
    {
        var x = Tensor.Ones([2], DType.Float64, requiresGrad: true);
        var h = x * 2.0;
        using var handle = h.RegisterHook(g => g * 10.0);
        h.Sum().Backward();
        Assert.Equal(new[] { 20.0, 20.0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void SavedTensorsSurviveDisposingTheOriginal()
    {
        var x = Tensor.FromArray([1.0, 2.0]).RequiresGrad_();
        var e = x.Exp();
        var loss = (e * e).Sum();
        e.Dispose();
        loss.Backward();
        Assert.Equal(2 * Math.Exp(2.0), x.Grad!.ToArray<double>()[0], 12);
    }
}
