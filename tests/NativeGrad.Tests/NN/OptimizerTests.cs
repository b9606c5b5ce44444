using NativeGrad.NN;
using NativeGrad.Optim;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>
/// Each optimizer against PyTorch's published update rules (the pseudo-code of torch.optim's documentation and the
/// single-tensor implementations), evaluated independently here in float64 with plain loops, over 10 steps of a
/// small linear regression whose gradient is also computed here by hand.
/// </summary>
public class OptimizerTests
{
    // The fixed problem: loss = mean((X Wᵀ + b - Y)²), X [5, 3], W [2, 3], b [2], Y [5, 2].
    private static readonly double[] X = [0.5, -1.0, 2.0, 1.5, 0.25, -0.75, -2.0, 1.0, 0.5, 0.0, 3.0, -1.0, 1.0, 1.0, 1.0];
    private static readonly double[] Y = [1.0, -2.0, 0.5, 3.0, -1.5, 2.0, 2.5, -0.5, 0.0, 1.0];
    private static readonly double[] W0 = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6];
    private static readonly double[] B0 = [0.05, -0.05];
    private const int N = 5, In = 3, Out = 2, Steps = 10;

    /// <summary>The hand-derived gradients: dW = 2/(N·Out) Rᵀ X, db = 2/(N·Out) Σᵢ R, with R = X Wᵀ + b - Y.</summary>
    private static double[][] ReferenceGradients(double[][] p)
    {
        double[] w = p[0], b = p[1];
        var gw = new double[Out * In];
        var gb = new double[Out];
        double scale = 2.0 / (N * Out);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < Out; j++)
            {
                double r = b[j] - Y[i * Out + j];
                for (int k = 0; k < In; k++) r += X[i * In + k] * w[j * In + k];
                gb[j] += scale * r;
                for (int k = 0; k < In; k++) gw[j * In + k] += scale * r * X[i * In + k];
            }
        return [gw, gb];
    }

    /// <summary>A reference optimizer: updates the float64 parameters in place from their gradients with learning rate lr.</summary>
    public delegate void ReferenceStep(double[][] parameters, double[][] grads, double lr);

    private static ReferenceStep ReferenceSgd(double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false, bool maximize = false)
    {
        double[][]? buffers = null;
        return (ps, gs, lr) =>
        {
            bool first = buffers is null;
            buffers ??= ps.Select(p => new double[p.Length]).ToArray();
            for (int k = 0; k < ps.Length; k++)
                for (int i = 0; i < ps[k].Length; i++)
                {
                    double d = maximize ? -gs[k][i] : gs[k][i];
                    if (weightDecay != 0) d += weightDecay * ps[k][i];
                    if (momentum != 0)
                    {
                        buffers[k][i] = first ? d : momentum * buffers[k][i] + (1 - dampening) * d;
                        d = nesterov ? d + momentum * buffers[k][i] : buffers[k][i];
                    }
                    ps[k][i] -= lr * d;
                }
        };
    }

    private static ReferenceStep ReferenceAdam(double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0,
                                               bool amsgrad = false, bool maximize = false, bool decoupled = false)
    {
        double[][]? m = null, v = null, vMax = null;
        int t = 0;
        return (ps, gs, lr) =>
        {
            m ??= ps.Select(p => new double[p.Length]).ToArray();
            v ??= ps.Select(p => new double[p.Length]).ToArray();
            vMax ??= ps.Select(p => new double[p.Length]).ToArray();
            t++;
            for (int k = 0; k < ps.Length; k++)
                for (int i = 0; i < ps[k].Length; i++)
                {
                    double g = maximize ? -gs[k][i] : gs[k][i];
                    if (decoupled) ps[k][i] *= 1 - lr * weightDecay;
                    else if (weightDecay != 0) g += weightDecay * ps[k][i];
                    m[k][i] = beta1 * m[k][i] + (1 - beta1) * g;
                    v[k][i] = beta2 * v[k][i] + (1 - beta2) * g * g;
                    double bias1 = 1 - Math.Pow(beta1, t), bias2 = 1 - Math.Pow(beta2, t);
                    double second = v[k][i];
                    if (amsgrad) second = vMax[k][i] = Math.Max(vMax[k][i], v[k][i]);
                    double denom = Math.Sqrt(second) / Math.Sqrt(bias2) + eps;
                    ps[k][i] -= lr / bias1 * m[k][i] / denom;
                }
        };
    }

    public sealed record Case(string Name, Func<IEnumerable<Tensor>, Optimizer> Create, Func<ReferenceStep> Reference)
    {
        public override string ToString() => Name;
    }

    private static readonly Case[] Cases =
    [
        new("SGD", ps => new SGD(ps, lr: 0.1), () => ReferenceSgd()),
        new("SGD momentum", ps => new SGD(ps, lr: 0.05, momentum: 0.9), () => ReferenceSgd(momentum: 0.9)),
        new("SGD momentum dampening weight decay", ps => new SGD(ps, lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01),
            () => ReferenceSgd(momentum: 0.8, dampening: 0.3, weightDecay: 0.01)),
        new("SGD nesterov weight decay", ps => new SGD(ps, lr: 0.05, momentum: 0.9, weightDecay: 0.1, nesterov: true),
            () => ReferenceSgd(momentum: 0.9, weightDecay: 0.1, nesterov: true)),
        new("SGD maximize", ps => new SGD(ps, lr: 0.01, momentum: 0.5, maximize: true), () => ReferenceSgd(momentum: 0.5, maximize: true)),
        new("Adam", ps => new Adam(ps, lr: 0.05), () => ReferenceAdam()),
        new("Adam L2 amsgrad", ps => new Adam(ps, lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, amsgrad: true),
            () => ReferenceAdam(beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, amsgrad: true)),
        new("Adam maximize", ps => new Adam(ps, lr: 0.01, maximize: true), () => ReferenceAdam(maximize: true)),
        new("AdamW", ps => new AdamW(ps, lr: 0.05), () => ReferenceAdam(weightDecay: 1e-2, decoupled: true)),
        new("AdamW amsgrad", ps => new AdamW(ps, lr: 0.05, weightDecay: 0.5, amsgrad: true), () => ReferenceAdam(weightDecay: 0.5, amsgrad: true, decoupled: true)),
    ];

    public static TheoryData<BackendKind, Case> CasesOnBothBackends()
    {
        var data = new TheoryData<BackendKind, Case>();
        foreach (var backend in new[] { BackendKind.Native, BackendKind.Managed })
            foreach (var c in Cases) data.Add(backend, c);
        return data;
    }

    /// <summary>Runs <paramref name="steps"/> steps of NativeGrad's optimizer on the problem, with gradients from autograd.</summary>
    private static double[][] RunNativeGrad(Func<IEnumerable<Tensor>, Optimizer> create, DType dtype, int steps, Action<Optimizer, int>? afterStep = null)
    {
        var x = Tensor.FromArray(X, N, In).To(dtype);
        var y = Tensor.FromArray(Y, N, Out).To(dtype);
        var w = Tensor.FromArray(W0, Out, In).To(dtype).RequiresGrad_();
        var b = Tensor.FromArray(B0, Out).To(dtype).RequiresGrad_();
        var optimizer = create([w, b]);
        for (int step = 0; step < steps; step++)
        {
            using var scope = Tensor.Scope();
            optimizer.ZeroGrad();
            Functional.MseLoss(Functional.Linear(x, w, b), y).Backward();
            optimizer.Step();
            afterStep?.Invoke(optimizer, step);
        }
        return [w.ToDoubleArray(), b.ToDoubleArray()];
    }

    private static double[][] RunReference(ReferenceStep reference, int steps, Func<int, double> lrAt)
    {
        double[][] p = [(double[])W0.Clone(), (double[])B0.Clone()];
        for (int step = 0; step < steps; step++) reference(p, ReferenceGradients(p), lrAt(step));
        return p;
    }

    private static double LearningRateOf(Case c) => c.Create([Tensor.Zeros(1).RequiresGrad_()]).ParamGroups[0].LearningRate;

    private static void AssertClose(double[][] expected, double[][] actual, double tolerance)
    {
        for (int k = 0; k < expected.Length; k++)
            for (int i = 0; i < expected[k].Length; i++)
                Assert.True(Math.Abs(expected[k][i] - actual[k][i]) <= tolerance,
                    $"parameter {k}, element {i}: expected {expected[k][i]:R}, got {actual[k][i]:R} (|diff| {Math.Abs(expected[k][i] - actual[k][i]):E2} > {tolerance:E0})");
    }

    [Theory]
    [MemberData(nameof(CasesOnBothBackends))]
    public void MatchesPyTorchUpdateRuleOverTenStepsInFloat64(BackendKind backend, Case c)
    {
        using var _ = Backends.Use(backend);
        var expected = RunReference(c.Reference(), Steps, _ => LearningRateOf(c));
        var actual = RunNativeGrad(c.Create, DType.Float64, Steps);
        Assert.NotEqual(W0[0], actual[0][0]);
        AssertClose(expected, actual, 1e-6);
    }

    [Theory]
    [MemberData(nameof(CasesOnBothBackends))]
    public void MatchesPyTorchUpdateRuleInFloat32ToFloat32Precision(BackendKind backend, Case c)
    {
        using var _ = Backends.Use(backend);
        var expected = RunReference(c.Reference(), Steps, _ => LearningRateOf(c));
        AssertClose(expected, RunNativeGrad(c.Create, DType.Float32, Steps), 2e-5);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void SchedulerLearningRatesReachTheUpdates(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        StepLR? scheduler = null;
        var actual = RunNativeGrad(ps =>
        {
            var opt = new SGD(ps, lr: 0.2, momentum: 0.9);
            scheduler = new StepLR(opt, stepSize: 3, gamma: 0.5);
            return opt;
        }, DType.Float64, Steps, (_, _) => scheduler!.Step());
        var expected = RunReference(ReferenceSgd(momentum: 0.9), Steps, step => 0.2 * Math.Pow(0.5, step / 3));
        AssertClose(expected, actual, 1e-6);
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public unsafe void StepsUpdateInPlaceWithoutCreatingTensors(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var w = Tensor.Randn([64, 32], DType.Float32, new Generator(1)).RequiresGrad_();
        var b = Tensor.Zeros([32], DType.Float32).RequiresGrad_();
        void* wData = w.DataPointer;
        foreach (Optimizer opt in new Optimizer[] { new SGD([w, b], lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01), new Adam([w, b], amsgrad: true), new AdamW([w, b]) })
        {
            for (int step = 0; step < 3; step++)
            {
                w.Grad = Tensor.OnesLike(w);
                b.Grad = Tensor.OnesLike(b);
                int version = w.StorageVersion;
                using var scope = Tensor.Scope();
                opt.Step();
                Assert.Equal(0, scope.Count); // state and workspaces are allocated once, outside any scope
                Assert.Equal(version + 1, w.StorageVersion);
            }
        }
        Assert.True(wData == w.DataPointer);
    }

    [Fact]
    public void StateCreatedInsideAScopeOutlivesIt()
    {
        var w = Tensor.Ones([4], DType.Float64).RequiresGrad_();
        var opt = new Adam([w], lr: 0.1);
        for (int step = 0; step < 3; step++)
        {
            using var scope = Tensor.Scope();
            opt.ZeroGrad();
            (w * w).Sum().Backward();
            opt.Step();
        }
        Assert.All(w.ToArray<double>(), v => Assert.True(v < 1.0));
    }

    [Fact]
    public void StepInvalidatesGraphsThatSavedTheParameter()
    {
        var w = Tensor.Ones([3], DType.Float64).RequiresGrad_();
        var loss = (w * w).Sum();
        loss.Backward(retainGraph: true);
        new SGD([w], lr: 0.1).Step();
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("modified by an inplace operation", e.Message);
    }

    [Fact]
    public void ParametersWithoutGradientsAreSkipped()
    {
        var used = Tensor.Ones([2], DType.Float64).RequiresGrad_();
        var unused = Tensor.Ones([2], DType.Float64).RequiresGrad_();
        var opt = new SGD([used, unused], lr: 0.5, momentum: 0.9);
        (used * 2.0).Sum().Backward();
        opt.Step();
        Assert.Equal(new[] { 0.0, 0.0 }, used.ToArray<double>());
        Assert.Equal(new[] { 1.0, 1.0 }, unused.ToArray<double>());
    }

    [Fact]
    public void ParamGroupsHaveTheirOwnLearningRates()
    {
        var a = Tensor.Zeros([1], DType.Float64).RequiresGrad_();
        var b = Tensor.Zeros([1], DType.Float64).RequiresGrad_();
        var opt = new SGD([new ParamGroup([a]), new ParamGroup([b], learningRate: 1.0)], lr: 0.1);
        a.Grad = Tensor.Ones([1], DType.Float64);
        b.Grad = Tensor.Ones([1], DType.Float64);
        opt.Step();
        Assert.Equal(-0.1, a.Item(), 15);
        Assert.Equal(-1.0, b.Item(), 15);
        opt.ZeroGrad();
        Assert.Null(a.Grad);
    }

    [Fact]
    public void InvalidHyperparametersAndParametersAreRejectedAsPyTorchDoes()
    {
        var w = Tensor.Zeros([2], DType.Float32).RequiresGrad_();
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([w], lr: -1));
        Assert.Throws<ArgumentException>(() => new SGD([w], momentum: 0, nesterov: true));
        Assert.Throws<ArgumentException>(() => new SGD([w], momentum: 0.9, dampening: 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([w], beta1: 1.0));
        Assert.Throws<ArgumentException>(() => new Adam([w, w]));
        Assert.Throws<ArgumentException>(() => new Adam(Array.Empty<Tensor>()));
        Assert.Throws<ArgumentException>(() => new Adam([w * 2.0]));
    }

    [Fact]
    public void StepLRMatchesItsClosedForm()
    {
        var opt = new SGD([Tensor.Zeros(1).RequiresGrad_()], lr: 0.1);
        var scheduler = new StepLR(opt, stepSize: 3, gamma: 0.5);
        Assert.Equal(0.1, opt.ParamGroups[0].LearningRate);
        Assert.Equal(0.1, opt.ParamGroups[0].InitialLearningRate);
        for (int epoch = 1; epoch <= 12; epoch++)
        {
            scheduler.Step();
            Assert.Equal(epoch, scheduler.LastEpoch);
            Assert.Equal(0.1 * Math.Pow(0.5, epoch / 3), opt.ParamGroups[0].LearningRate, 15);
            Assert.Equal(opt.ParamGroups[0].LearningRate, scheduler.LastLearningRates[0]);
        }
    }

    [Fact]
    public void CosineAnnealingLRMatchesPyTorchsRecursiveFormAndClosedForm()
    {
        const double BaseLr = 0.1, EtaMin = 0.001;
        const int TMax = 10;
        var opt = new SGD([new ParamGroup([Tensor.Zeros(1).RequiresGrad_()]), new ParamGroup([Tensor.Zeros(1).RequiresGrad_()], 0.5)], lr: BaseLr);
        var scheduler = new CosineAnnealingLR(opt, TMax, EtaMin);
        // PyTorch's get_lr, the chainable recursion, for the first group; the closed form for both.
        double recursive = BaseLr;
        for (int epoch = 1; epoch <= 3 * TMax; epoch++)
        {
            scheduler.Step();
            if ((epoch - 1 - TMax) % (2 * TMax) == 0)
                recursive += (BaseLr - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2;
            else
                recursive = (1 + Math.Cos(Math.PI * epoch / TMax)) / (1 + Math.Cos(Math.PI * (epoch - 1) / TMax)) * (recursive - EtaMin) + EtaMin;
            Assert.Equal(recursive, opt.ParamGroups[0].LearningRate, 12);
            Assert.Equal(EtaMin + (0.5 - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2, opt.ParamGroups[1].LearningRate, 15);
        }
        Assert.Equal(BaseLr, scheduler.BaseLearningRates[0]);
    }

    [Fact]
    public void ResumingASchedulerNeedsTheInitialLearningRate()
    {
        var opt = new SGD([Tensor.Zeros(1).RequiresGrad_()], lr: 0.1);
        Assert.Throws<InvalidOperationException>(() => new StepLR(opt, 2, lastEpoch: 4));
        _ = new StepLR(opt, 2);
        var resumed = new StepLR(opt, 2, gamma: 0.5, lastEpoch: 4);
        Assert.Equal(5, resumed.LastEpoch);
        Assert.Equal(0.1 * 0.25, opt.ParamGroups[0].LearningRate, 15);
    }

    public static TheoryData<string> OptimizerNames => new() { "sgd", "sgd-momentum", "adam", "adam-amsgrad", "adamw" };

    private static Optimizer Make(string name, Tensor[] ps) => name switch
    {
        "sgd" => new SGD(ps, lr: 0.1),
        "sgd-momentum" => new SGD(ps, lr: 0.1, momentum: 0.9, weightDecay: 0.01),
        "adam" => new Adam(ps, lr: 0.01),
        "adam-amsgrad" => new Adam(ps, lr: 0.01, amsgrad: true),
        _ => new AdamW(ps, lr: 0.01),
    };

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void DisposeGivesBackTheOptimizersTensorsAndLeavesTheParameters(string name)
    {
        var w = Tensor.FromArray(W0, Out, In).RequiresGrad_();
        var b = Tensor.FromArray(B0).RequiresGrad_();
        var x = Tensor.FromArray(X, N, In);
        var y = Tensor.FromArray(Y, N, Out);
        var opt = Make(name, [w, b]);
        for (int step = 0; step < 2; step++)
        {
            opt.ZeroGrad();
            Functional.MseLoss(Functional.Linear(x, w, b), y).Backward();
            opt.Step();
        }
        var owned = opt.OwnedTensors().ToList();
        int expected = name switch { "sgd" => 0, "sgd-momentum" => 2, "adam-amsgrad" => 6, _ => 4 }; // state per parameter
        Assert.True(owned.Count >= expected, $"{name}: {owned.Count} owned tensors");
        Assert.All(owned, t => Assert.False(t.IsDisposed));
        double[] before = w.ToArray<double>();
        opt.Dispose();
        Assert.All(owned, t => Assert.True(t.IsDisposed));
        Assert.Equal(before, w.ToArray<double>()); // the parameters and grads are the caller's
        Assert.NotNull(w.Grad);
        Assert.Equal(6, w.Grad!.NumElements);
        opt.Dispose(); // twice: harmless
        Assert.Throws<ObjectDisposedException>(() => opt.Step());
    }
}
