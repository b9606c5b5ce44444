using NativeGrad.Autograd;
using Xunit;
using AG = NativeGrad.Autograd.Autograd;

namespace NativeGrad.Tests.AutogradBehaviour;

/// <summary>Issue 4: torch.autograd behaviour beyond the tutorial, in the spirit of PyTorch's test_autograd.py.</summary>
public class AutogradDepthTests
{
    private static Tensor Vec(params double[] v) => Tensor.FromArray(v);

    private static void Close(double[] expected, double[] actual, double tol = 1e-9)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    // 1. Backward options
    [Fact]
    public void BackwardWithInputsAccumulatesOnlyIntoThoseInputs()
    {
        var a = Vec(1, 2).RequiresGrad_();
        var b = Vec(3, 4).RequiresGrad_();
        (a * b).Sum().Backward(inputs: [a]);
        Assert.Equal(new[] { 3.0, 4.0 }, a.Grad!.ToArray<double>());
        Assert.Null(b.Grad);
    }

    [Fact]
    public void CreateGraphMakesGradientsDifferentiable()
    {
        var x = Vec(2).RequiresGrad_();
        var y = x.Pow(3).Sum();
        y.Backward(createGraph: true);
        Assert.NotNull(x.Grad!.GradFn);
        Close([12.0], x.Grad.ToArray<double>());
        var g = x.Grad;
        x.Grad = null;
        g.Sum().Backward();
        Close([12.0], x.Grad!.ToArray<double>()); // d/dx 3x² = 6x = 12
    }

    // 2. Autograd.Grad
    [Fact]
    public void GradThrowsForUnusedInputsUnlessAllowed()
    {
        var a = Vec(1, 2).RequiresGrad_();
        var unused = Vec(1, 2).RequiresGrad_();
        var y = (a * a).Sum();
        var e = Assert.Throws<InvalidOperationException>(() => AG.Grad([y], [a, unused], retainGraph: true));
        Assert.Contains("appears to not have been used in the graph", e.Message);
        var grads = AG.Grad([y], [a, unused], allowUnused: true);
        Assert.Equal(new[] { 2.0, 4.0 }, grads[0]!.ToArray<double>());
        Assert.Null(grads[1]);
        Assert.Null(a.Grad);
    }

    // 3. Higher order and the functional API
    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void HessianOfAQuadraticFormIsASymmetrisedMatrix(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var a = Tensor.FromArray([1.0, 2.0, 0.5, 3.0, -1.0, 4.0, 2.0, 0.0, 1.5], 3, 3);
        var h = AG.Functional.Hessian(x => x.MatMul(a.MatMul(x)), Vec(0.3, -0.2, 0.7));
        var at = a.T.Contiguous().ToArray<double>();
        var expected = a.ToArray<double>().Select((v, i) => v + at[i]).ToArray();
        Assert.Equal(new long[] { 3, 3 }, h.Shape.ToArray());
        Close(expected, h.ToArray<double>());
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void HessianOfSumOfCubesIsDiagonal(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var h = AG.Functional.Hessian(x => x.Pow(3).Sum(), Vec(1, -2)).ToArray<double>();
        Close([6, 0, 0, -12], h);
    }

    [Fact]
    public void JacobianVjpJvpAndHvpAgreeWithTheAnalyticForms()
    {
        var x = Vec(0.5, -1.0, 2.0);
        // f(x) = x² elementwise: J = diag(2x).
        var j = AG.Functional.Jacobian(t => t * t, x).ToArray<double>();
        Close([1, 0, 0, 0, -2, 0, 0, 0, 4], j);
        var v = Vec(1, 2, 3);
        var (_, vjp) = AG.Functional.Vjp(t => t[0] * t[0], [x], v);
        Close([1, -4, 12], vjp[0].ToArray<double>());
        var (_, jvp) = AG.Functional.Jvp(t => t[0] * t[0], [x], [v]);
        Close([1, -4, 12], jvp.ToArray<double>());
        var (value, hvp) = AG.Functional.Hvp(t => t.Pow(3).Sum(), x, v);
        Close([0.125 - 1 + 8], value.ToArray<double>());
        Close([3, -12, 36], hvp.ToArray<double>()); // H = diag(6x)
        Assert.False(x.RequiresGrad);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ThirdDerivativeOfTanh(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Vec(0.3, -1.2).RequiresGrad_();
        var d1 = AG.Grad([x.Tanh().Sum()], [x], createGraph: true)[0]!;
        var d2 = AG.Grad([d1.Sum()], [x], createGraph: true)[0]!;
        var d3 = AG.Grad([d2.Sum()], [x])[0]!.ToArray<double>();
        double[] xs = [0.3, -1.2];
        Close(xs.Select(v => { double t = Math.Tanh(v); return -2 * (1 - t * t) * (1 - 3 * t * t); }).ToArray(), d3, 1e-9);
    }

    [Fact]
    public void DoubleBackwardThroughATenThousandOpChain()
    {
        var x = Vec(0.5).RequiresGrad_();
        var y = x;
        for (int i = 0; i < 10_000; i++) y = y * 1.0;
        var g = AG.Grad([(y * y).Sum()], [x], createGraph: true)[0]!;
        var gg = AG.Grad([g.Sum()], [x])[0]!;
        Close([1.0], g.ToArray<double>());
        Close([2.0], gg.ToArray<double>());
    }

    // 4. Leaf semantics
    [Fact]
    public void GradCanBeResetAndRequiresGradIsLeafOnly()
    {
        var x = Vec(1).RequiresGrad_();
        (x * 2.0).Sum().Backward();
        x.Grad = null;
        Assert.Null(x.Grad);
        var y = x * 2.0;
        Assert.False(y.IsLeaf);
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad_());
        Assert.Throws<ArgumentException>(() => x.Grad = Vec(1, 2));
    }

    // 5. Grad modes
    [Fact]
    public void EnableGradInsideNoGradAndSetGradEnabled()
    {
        var x = Vec(1).RequiresGrad_();
        using (AG.NoGrad())
        {
            Assert.False((x * 2.0).RequiresGrad);
            using (AG.EnableGrad()) Assert.True((x * 2.0).RequiresGrad);
            Assert.False(AG.IsGradEnabled);
        }
        AG.SetGradEnabled(false);
        try { Assert.Null((x * 2.0).GradFn); }
        finally { AG.SetGradEnabled(true); }
        Assert.NotNull((x * 2.0).GradFn);
    }

    [Fact]
    public void InferenceModeTensorsCannotBeSavedForBackward()
    {
        var w = Vec(1, 2).RequiresGrad_();
        Tensor t;
        using (AG.InferenceMode())
        {
            t = w * 3.0;
            Assert.True(t.IsInference);
            Assert.Null(t.GradFn);
        }
        var e = Assert.Throws<InvalidOperationException>(() => w * t);
        Assert.Contains("Inference tensors cannot be saved for backward", e.Message);
        Assert.NotNull((w * t.Clone()).GradFn);
    }

    // 6. Hooks and graph inspection
    [Fact]
    public void TensorHookHandleRemovesTheHook()
    {
        var x = Vec(1, 1).RequiresGrad_();
        int calls = 0;
        var handle = x.RegisterHook(g => { calls++; return g * 2.0; });
        (x * 1.0).Sum().Backward();
        Assert.Equal(new[] { 2.0, 2.0 }, x.Grad!.ToArray<double>());
        handle.Remove();
        x.ZeroGrad();
        (x * 1.0).Sum().Backward();
        Assert.Equal(new[] { 1.0, 1.0 }, x.Grad!.ToArray<double>());
        Assert.Equal(1, calls);
    }

    [Fact]
    public void PostAccumulateGradHookSeesTheAccumulatedGrad()
    {
        var x = Vec(1, 1).RequiresGrad_();
        double seen = 0;
        using var handle = x.RegisterPostAccumulateGradHook(t => seen = t.Grad!.Sum().Item());
        (x * 3.0).Sum().Backward();
        Assert.Equal(6.0, seen);
    }

    [Fact]
    public void NodeHooksAndNextFunctions()
    {
        var a = Vec(1, 2).RequiresGrad_();
        var b = Vec(3, 4).RequiresGrad_();
        var c = a * b;
        var names = c.GradFn!.NextFunctions.Select(e => e.Node!.Name).ToArray();
        Assert.Equal(new[] { "AccumulateGrad", "AccumulateGrad" }, names);
        var sum = c.Sum();
        Assert.Same(c.GradFn, sum.GradFn!.NextFunctions[0].Node);
        using var pre = c.GradFn.RegisterPrehook(g => [g[0]! * 10.0]);
        using var post = c.GradFn.RegisterHook(g => [g[0], null]);
        sum.Backward();
        Assert.Equal(new[] { 30.0, 40.0 }, a.Grad!.ToArray<double>());
        Assert.Null(b.Grad);
    }

    // 7. Custom functions
    private sealed class MyExp : Function
    {
        public bool[] NeedsSeen = [];

        public override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
        {
            var result = inputs[0].Exp();
            ctx.SaveForBackward(result);
            return [result];
        }

        public override Tensor?[] Backward(FunctionContext ctx, Tensor[] grads)
        {
            NeedsSeen = [ctx.NeedsInputGrad(0)];
            return [grads[0] * ctx.SavedTensors[0]];
        }
    }

    private sealed class SplitSquare : Function
    {
        public override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
        {
            ctx.SaveForBackward(inputs[0]);
            return [inputs[0] * inputs[0], inputs[0] * 2.0];
        }

        public override Tensor?[] Backward(FunctionContext ctx, Tensor[] grads) =>
            [grads[0] * ctx.SavedTensors[0] * 2.0 + grads[1] * 2.0];
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void CustomFunctionComposesWithHigherOrderGradients(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Vec(0.5, -1).RequiresGrad_();
        var f = new MyExp();
        var y = f.Apply(x);
        Assert.Equal("MyExpBackward", y.GradFn!.Name);
        var g = AG.Grad([(y * 3.0).Sum()], [x], createGraph: true)[0]!;
        Close([3 * Math.Exp(0.5), 3 * Math.Exp(-1)], g.ToArray<double>());
        Assert.Equal(new[] { true }, f.NeedsSeen);
        var gg = AG.Grad([g.Sum()], [x])[0]!;
        Close([3 * Math.Exp(0.5), 3 * Math.Exp(-1)], gg.ToArray<double>());
    }

    [Fact]
    public void CustomFunctionWithTwoOutputsGetsZerosForTheUnusedOne()
    {
        var x = Vec(3).RequiresGrad_();
        var outputs = new SplitSquare().ApplyMany(x);
        Assert.Equal(1, outputs[1].GradFn is null ? -1 : outputs[1].OutputNr);
        outputs[0].Sum().Backward();
        Close([6.0], x.Grad!.ToArray<double>());
    }

    // 8. In-place ops
    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void InPlaceOpsRebaseHistory(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var x = Vec(1, 2).RequiresGrad_();
        var y = x * 2.0;
        y.AddInPlace(Vec(10, 10));
        y.MulInPlace(3.0);
        Assert.Equal("MulBackward0", y.GradFn!.Name);
        Assert.Equal(new[] { 36.0, 42.0 }, y.ToArray<double>());
        y.Sum().Backward();
        Assert.Equal(new[] { 6.0, 6.0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void ModifyingASavedTensorInPlaceIsDetected()
    {
        var x = Vec(1, 2).RequiresGrad_();
        var y = x.Exp();
        var z = y.Sum();
        y.MulInPlace(2.0);
        var e = Assert.Throws<InvalidOperationException>(() => z.Backward());
        Assert.Contains("modified by an inplace operation", e.Message);
        Assert.Contains("ExpBackward0", e.Message);
    }

    [Fact]
    public void InPlaceOnALeafThatRequiresGradThrowsOutsideNoGrad()
    {
        var w = Vec(1, 2).RequiresGrad_();
        var e = Assert.Throws<InvalidOperationException>(() => w.AddInPlace(1.0));
        Assert.Contains("leaf Variable that requires grad", e.Message);
        using (AG.NoGrad())
        {
            w.AddInPlace(1.0).ClampInPlace(max: 2.5);
            w.Grad = null;
        }
        Assert.Equal(new[] { 2.0, 2.5 }, w.ToArray<double>());
        var z = Vec(5, 5);
        z.Zero();
        Assert.Equal(new[] { 0.0, 0.0 }, z.ToArray<double>());
        z.Fill(7);
        Assert.Equal(new[] { 7.0, 7.0 }, z.ToArray<double>());
    }

    // 9. Anomaly mode
    [Fact]
    public void AnomalyModeNamesTheNodeThatProducedNaN()
    {
        var x = Vec(-1.0).RequiresGrad_();
        using (AG.DetectAnomaly())
        {
            var y = x.Sqrt().Sum();
            var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
            Assert.Contains("SqrtBackward0", e.Message);
            Assert.Contains(nameof(AnomalyModeNamesTheNodeThatProducedNaN), e.Message);
        }
        var quiet = x.Sqrt().Sum();
        quiet.Backward(); // outside anomaly mode NaN gradients are just values
        Assert.True(double.IsNaN(x.Grad!.Item()));
    }

    // 10. Graph pictures
    [Fact]
    public void ToDotNamesNodesLikePyTorchAndShowsLeafShapes()
    {
        var w = Tensor.Randn([5, 3], DType.Float32, new Generator(1), requiresGrad: true);
        var b = Tensor.Randn([3], DType.Float32, new Generator(2), requiresGrad: true);
        var loss = NN.Functional.BinaryCrossEntropyWithLogits(Tensor.Ones(5).MatMul(w) + b, Tensor.Zeros(3));
        var dot = loss.ToDot(showSavedTensors: true);
        Assert.StartsWith("digraph {", dot);
        Assert.Contains("BinaryCrossEntropyWithLogitsBackward0", dot);
        Assert.Contains("AddBackward0", dot);
        Assert.Contains("AccumulateGrad\\n[5,3]", dot);
        Assert.Contains("AccumulateGrad\\n[3]", dot);
        Assert.Contains("saved 0", dot);
        var nodeDot = loss.GradFn!.ToDot();
        Assert.Contains("AccumulateGrad\\n[5,3]", nodeDot);
        Assert.Contains("BinaryCrossEntropyWithLogitsBackward0", nodeDot);
        Assert.Throws<ArgumentException>(() => AG.Visualize(loss, Path.Combine(Path.GetTempPath(), "graph.bmp")));
        string dotPath = Path.Combine(Path.GetTempPath(), $"ng-{Guid.NewGuid():N}.dot");
        AG.Visualize(loss, dotPath);
        Assert.Equal(loss.ToDot(), File.ReadAllText(dotPath));
    }

    [Fact]
    public void VisualizeRendersSvgWhenGraphvizIsInstalled()
    {
        var x = Vec(1).RequiresGrad_();
        var y = (x.Exp() * 2.0).Sum();
        string path = Path.Combine(Path.GetTempPath(), $"ng-{Guid.NewGuid():N}.svg");
        bool hasDot = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "dot")));
        if (hasDot)
        {
            AG.Visualize(y, path);
            Assert.Contains("<svg", File.ReadAllText(path));
            Assert.Contains("ExpBackward0", File.ReadAllText(path));
        }
        else
        {
            var e = Assert.Throws<InvalidOperationException>(() => AG.Visualize(y, path));
            Assert.Contains("Graphviz", e.Message);
        }
    }

    // 11. Threads
    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void IndependentGraphsOnEightThreadsMatchSequentialResults(BackendKind backend)
    {
        static double[] Run(int seed, BackendKind kind)
        {
            using var _ = Runtime.UseBackend(kind);
            using var scope = Tensor.Scope();
            var w = Tensor.Randn([4, 3], DType.Float64, new Generator((ulong)seed), requiresGrad: true);
            var x = Tensor.Randn([2, 4], DType.Float64, new Generator((ulong)seed + 100));
            for (int i = 0; i < 1000; i++)
            {
                var loss = (x.MatMul(w).Tanh() * 0.5).Sum();
                loss.Backward();
            }
            return w.Grad!.ToArray<double>();
        }
        if (backend == BackendKind.Native) Assert.True(Runtime.NativeAvailable);
        var sequential = Enumerable.Range(0, 8).Select(i => Run(i, backend)).ToArray();
        var parallel = new double[8][];
        var threads = Enumerable.Range(0, 8).Select(i => new Thread(() => parallel[i] = Run(i, backend))).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        for (int i = 0; i < 8; i++) Assert.Equal(sequential[i], parallel[i]);
    }
}
