using NativeGrad.Autograd;
using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests;

public class ModuleTests
{
    private sealed class TwoLayer : Module
    {
        public readonly Linear Fc1, Fc2;
        public readonly Tensor Scale;

        public TwoLayer()
        {
            Fc1 = RegisterModule("fc1", new Linear(4, 3, generator: new Generator(1)));
            Fc2 = RegisterModule("fc2", new Linear(3, 2, bias: false, generator: new Generator(2)));
            Scale = RegisterParameter("scale", Tensor.Ones(2));
        }

        public override Tensor Forward(Tensor input) => Fc2.Call(Fc1.Call(input).Relu()) * Scale;
    }

    [Fact]
    public void LinearHasPyTorchsShapesAndParameterCount()
    {
        var fc = new Linear(784, 256);
        Assert.Equal(new long[] { 256, 784 }, fc.Weight.Shape.ToArray());
        Assert.Equal(new long[] { 256 }, fc.Bias!.Shape.ToArray());
        Assert.Equal(200_960, fc.Parameters().Sum(p => p.NumElements));
        Assert.All(fc.Parameters(), p => Assert.True(p.RequiresGrad && p.IsLeaf));
        Assert.Equal(new long[] { 64, 256 }, fc.Call(Tensor.Randn(64, 784)).Shape.ToArray());
        Assert.Equal(new long[] { 2, 5, 256 }, fc.Call(Tensor.Randn(2, 5, 784)).Shape.ToArray());
        Assert.Equal("Linear(in_features=784, out_features=256, bias=True)", fc.ToString());
    }

    [Fact]
    public void NamedParametersUseDottedRegistrationOrderNames()
    {
        var model = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 10));
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }, model.NamedParameters().Select(p => p.Name));
        Assert.Equal(203_530, model.Parameters().Sum(p => p.NumElements));
        Assert.Equal(3, model.Children().Count());
        Assert.Equal(4, model.Modules().Count());

        var custom = new TwoLayer();
        Assert.Equal(new[] { "scale", "fc1.weight", "fc1.bias", "fc2.weight" }, custom.NamedParameters().Select(p => p.Name));
        Assert.Equal(new[] { "scale" }, custom.NamedParameters(recurse: false).Select(p => p.Name));
        Assert.Equal(new[] { "", "fc1", "fc2" }, custom.NamedModules().Select(m => m.Name));
    }

    [Fact]
    public void SharedParametersAndModulesAreListedOnce()
    {
        var shared = new Linear(3, 3);
        var model = new Sequential(shared, new ReLU(), shared);
        Assert.Equal(new[] { "0.weight", "0.bias" }, model.NamedParameters().Select(p => p.Name));
        Assert.Equal(2, model.Parameters().Count());
    }

    [Fact]
    public void ToStringPrintsTheTreeAsPyTorch()
    {
        var model = new Sequential(new Conv2d(1, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Flatten(), new Dropout(0.25), new Linear(8 * 14 * 14, 10), new LayerNorm(10));
        Assert.Equal(
            "Sequential(\n" +
            "  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n" +
            "  (1): ReLU()\n" +
            "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n" +
            "  (3): Flatten(start_dim=1, end_dim=-1)\n" +
            "  (4): Dropout(p=0.25, inplace=False)\n" +
            "  (5): Linear(in_features=1568, out_features=10, bias=True)\n" +
            "  (6): LayerNorm((10,), eps=1e-05, elementwise_affine=True)\n" +
            ")", model.ToString());
    }

    [Fact]
    public void LinearAndConvInitialisationStaysWithinPyTorchsKaimingUniformBound()
    {
        var fc = new Linear(100, 50, generator: new Generator(3));
        double bound = 1.0 / Math.Sqrt(100);
        var w = fc.Weight.ToDoubleArray();
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.True(w.Max() > 0.9 * bound && w.Min() < -0.9 * bound, "the samples should fill the interval");
        Assert.InRange(w.Select(v => v * v).Average(), bound * bound / 3 * 0.9, bound * bound / 3 * 1.1); // Var U(-b, b) = b²/3
        Assert.All(fc.Bias!.ToDoubleArray(), v => Assert.InRange(v, -bound, bound));

        var conv = new Conv2d(3, 16, 5, generator: new Generator(4));
        double convBound = 1.0 / Math.Sqrt(3 * 5 * 5);
        Assert.All(conv.Weight.ToDoubleArray(), v => Assert.InRange(v, -convBound, convBound));
        Assert.All(conv.Bias!.ToDoubleArray(), v => Assert.InRange(v, -convBound, convBound));
        Assert.Equal(16 * 3 * 25 + 16, conv.Parameters().Sum(p => p.NumElements));
    }

    [Fact]
    public void SeededGeneratorsGiveIdenticalModules()
    {
        var a = new Linear(10, 5, generator: new Generator(9)).Weight.ToArray<float>();
        var b = new Linear(10, 5, generator: new Generator(9)).Weight.ToArray<float>();
        var c = new Linear(10, 5, generator: new Generator(10)).Weight.ToArray<float>();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void EmbeddingIsStandardNormalAndLayerNormStartsAtOnesAndZeros()
    {
        var emb = new Embedding(1000, 20, generator: new Generator(5), dtype: DType.Float64);
        var values = emb.Weight.ToArray<double>();
        double mean = values.Average(), variance = values.Select(v => (v - mean) * (v - mean)).Average();
        Assert.InRange(mean, -0.03, 0.03);
        Assert.InRange(variance, 0.95, 1.05);
        var rows = emb.Call(Tensor.FromArray(new long[] { 3, 14, 15, 3 }, 2, 2));
        Assert.Equal(new long[] { 2, 2, 20 }, rows.Shape.ToArray());
        Assert.Equal(emb.Weight[3].ToArray<double>(), rows[1, 1].ToArray<double>());

        var norm = new LayerNorm(6);
        Assert.All(norm.Weight!.ToArray<float>(), v => Assert.Equal(1f, v));
        Assert.All(norm.Bias!.ToArray<float>(), v => Assert.Equal(0f, v));
        var y = norm.Call(Tensor.Randn([4, 6], DType.Float32, new Generator(6))).ToArray<float>();
        for (int r = 0; r < 4; r++) Assert.InRange(y.Skip(r * 6).Take(6).Average(), -1e-5, 1e-5);
    }

    [Fact]
    public void ConvPoolFlattenProduceTheExpectedShapes()
    {
        var net = new Sequential(new Conv2d(1, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Conv2d(8, 16, 3, padding: 1), new GELU(), new MaxPool2d(2), new Flatten(), new Linear(16 * 7 * 7, 10), new Tanh(), new Sigmoid());
        var y = net.Call(Tensor.Randn(2, 1, 28, 28));
        Assert.Equal(new long[] { 2, 10 }, y.Shape.ToArray());
        Assert.All(y.ToArray<float>(), v => Assert.InRange(v, 0f, 1f));
        Assert.Equal(new long[] { 3, 16, 5, 5 }, new Conv2d(16, 16, 3, stride: 2).Call(Tensor.Randn(3, 16, 11, 11)).Shape.ToArray());
    }

    [Fact]
    public void DropoutZeroesAboutPAndScalesSurvivorsInTrainingAndIsIdentityInEval()
    {
        var drop = new Dropout(0.3, new Generator(7));
        Assert.True(drop.Training);
        var x = Tensor.Ones([10_000], DType.Float64).RequiresGrad_();
        var y = drop.Call(x);
        var values = y.ToArray<double>();
        double zeros = values.Count(v => v == 0) / (double)values.Length;
        Assert.InRange(zeros, 0.28, 0.32);
        Assert.All(values, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.7) < 1e-12));
        y.Sum().Backward();
        Assert.Equal(values, x.Grad!.ToArray<double>()); // the gradient goes through the same mask

        var again = new Dropout(0.3, new Generator(7)).Call(Tensor.Ones([10_000], DType.Float64)).ToArray<double>();
        Assert.Equal(values, again); // seeded: the same mask

        var model = new Sequential(new Linear(3, 3), drop);
        model.Eval();
        Assert.False(drop.Training);
        Assert.False(model.Training);
        Assert.Same(x, drop.Call(x));
        model.Train();
        Assert.True(drop.Training);
        Assert.Equal(0.0, new Dropout(1.0).Call(Tensor.Ones(5)).Sum().Item());
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.5));
    }

    [Fact]
    public void ZeroGradClearsEveryParameterGradient()
    {
        var model = new TwoLayer();
        model.Call(Tensor.Randn(5, 4)).Sum().Backward();
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
        model.ZeroGrad();
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void StateDictRoundTripsIntoAnotherInstanceInPlace()
    {
        var source = new TwoLayer();
        var copy = new TwoLayer();
        foreach (var p in copy.Parameters()) Init.Zeros_(p);
        var weightBefore = copy.Fc1.Weight;
        var state = source.StateDict();
        Assert.Equal(new[] { "scale", "fc1.weight", "fc1.bias", "fc2.weight" }, state.Keys);
        Assert.All(state.Values, t => Assert.False(t.RequiresGrad));
        var result = copy.LoadStateDict(state);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Same(weightBefore, copy.Fc1.Weight);
        foreach (var (name, p) in copy.NamedParameters()) Assert.Equal(state[name].ToArray<float>(), p.ToArray<float>());
        var x = Tensor.Randn(3, 4);
        Assert.Equal(source.Call(x).ToArray<float>(), copy.Call(x).ToArray<float>());
    }

    [Fact]
    public void LoadStateDictReportsMismatchesAsPyTorchAndChangesNothing()
    {
        var model = new Sequential(new Linear(2, 2));
        var before = model[0].Parameters().First().ToArray<float>();
        var bad = new Dictionary<string, Tensor> { ["0.weight"] = Tensor.Zeros(3, 2), ["extra"] = Tensor.Zeros(1) };
        var e = Assert.Throws<InvalidOperationException>(() => model.LoadStateDict(bad));
        Assert.Contains("Error(s) in loading state_dict for Sequential", e.Message);
        Assert.Contains("Unexpected key(s) in state_dict: \"extra\"", e.Message);
        Assert.Contains("Missing key(s) in state_dict: \"0.bias\"", e.Message);
        Assert.Contains("size mismatch for 0.weight", e.Message);
        Assert.Equal(before, model[0].Parameters().First().ToArray<float>());

        var partial = model.LoadStateDict(new Dictionary<string, Tensor> { ["0.bias"] = Tensor.Ones(2), ["extra"] = Tensor.Zeros(1) }, strict: false);
        Assert.Equal(new[] { "0.weight" }, partial.MissingKeys);
        Assert.Equal(new[] { "extra" }, partial.UnexpectedKeys);
        Assert.Equal(new[] { 1f, 1f }, ((Linear)model[0]).Bias!.ToArray<float>());
    }

    [Fact]
    public void ParametersCreatedInsideATensorScopeOutliveIt()
    {
        Linear fc;
        using (Tensor.Scope()) fc = new Linear(3, 2);
        Assert.False(fc.Weight.IsDisposed);
        Assert.Equal(new long[] { 1, 2 }, fc.Call(Tensor.Ones(1, 3)).Shape.ToArray());
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void AnMlpTrainedWithAdamFitsASyntheticClassificationProblem(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        // Two interleaved classes on a circle (not linearly separable): class = radius > 1.
        var gen = new Generator(11);
        const int N = 256;
        var x = new float[N * 2];
        var labels = new long[N];
        for (int i = 0; i < N; i++)
        {
            double r = 2 * gen.NextDouble(), angle = 2 * Math.PI * gen.NextDouble();
            x[2 * i] = (float)(r * Math.Cos(angle));
            x[2 * i + 1] = (float)(r * Math.Sin(angle));
            labels[i] = r > 1 ? 1 : 0;
        }
        var input = Tensor.FromArray(x, N, 2);
        var target = Tensor.FromArray(labels);
        var model = new Sequential(new Linear(2, 32, generator: gen), new ReLU(), new Linear(32, 32, generator: gen), new Tanh(), new Linear(32, 2, generator: gen));
        var opt = new NativeGrad.Optim.Adam(model.Parameters(), lr: 0.02);
        double first = 0, last = 0;
        for (int step = 0; step < 150; step++)
        {
            using var scope = Tensor.Scope();
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Call(input), target);
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < 0.25 * first, $"loss went from {first} to {last}");
        using (Autograd.Autograd.NoGrad())
        {
            var predicted = model.Call(input).ToArray<float>();
            int correct = Enumerable.Range(0, N).Count(i => (predicted[2 * i + 1] > predicted[2 * i] ? 1 : 0) == labels[i]);
            Assert.True(correct >= 0.9 * N, $"{correct}/{N} correct");
        }
    }
}
