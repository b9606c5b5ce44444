using NativeGrad.Autograd;
using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>One row per op (as PyTorch's OpInfo): gradcheck and gradgradcheck on random float64 inputs, both backends.</summary>
public class GradCheckTests
{
    public sealed record OpInfo(string Name, long[][] Shapes, Func<Tensor[], Tensor> Function, bool SecondOrder = true, bool Positive = false)
    {
        public override string ToString() => Name;
    }

    private static readonly OpInfo[] Ops =
    [
        new("neg", [[3, 2]], x => x[0].Neg()),
        new("exp", [[3, 2]], x => x[0].Exp()),
        new("log", [[3, 2]], x => x[0].Log(), Positive: true),
        new("sqrt", [[4]], x => x[0].Sqrt(), Positive: true),
        new("rsqrt", [[4]], x => x[0].Rsqrt(), Positive: true),
        new("abs", [[4]], x => x[0].Abs(), SecondOrder: false),
        new("sin", [[4]], x => x[0].Sin()),
        new("cos", [[4]], x => x[0].Cos()),
        new("tanh", [[2, 3]], x => x[0].Tanh()),
        new("sigmoid", [[2, 3]], x => x[0].Sigmoid()),
        new("relu", [[5]], x => x[0].Relu(), SecondOrder: false),
        new("gelu", [[5]], x => x[0].Gelu()),
        new("gelu_tanh", [[5]], x => x[0].Gelu("tanh")),
        new("silu", [[5]], x => x[0].Silu()),
        new("softplus", [[5]], x => x[0].Softplus(2.0, 1.5)),
        new("leaky_relu", [[5]], x => x[0].LeakyRelu(0.2), SecondOrder: false),
        new("elu", [[5]], x => x[0].Elu(0.5)),
        new("log1p", [[4]], x => x[0].Log1p(), Positive: true),
        new("expm1", [[4]], x => x[0].Expm1()),
        new("reciprocal", [[4]], x => x[0].Reciprocal(), Positive: true),
        new("square", [[4]], x => x[0].Square()),
        new("clamp", [[6]], x => x[0].Clamp(-0.5, 0.5), SecondOrder: false),
        new("add_alpha", [[2, 3], [3]], x => x[0].Add(x[1], 2.5)),
        new("sub", [[2, 3], [2, 1]], x => x[0] - x[1]),
        new("mul", [[2, 3], [3]], x => x[0] * x[1]),
        new("div", [[2, 3], [3]], x => x[0] / x[1], Positive: true),
        new("pow_scalar", [[4]], x => x[0].Pow(3)),
        new("pow_tensor", [[2, 3], [3]], x => x[0].Pow(x[1]), Positive: true),
        new("maximum", [[4], [4]], x => x[0].Maximum(x[1]), SecondOrder: false),
        new("minimum", [[4], [4]], x => x[0].Minimum(x[1]), SecondOrder: false),
        new("sum_dims", [[2, 3, 4]], x => x[0].Sum([0, 2])),
        new("mean_keepdim", [[2, 3]], x => x[0].Mean([-1], keepDim: true)),
        new("amax", [[3, 4]], x => x[0].Amax([1]), SecondOrder: false),
        new("prod", [[3, 4]], x => x[0].Prod(1)),
        new("var", [[3, 4]], x => x[0].Var([1])),
        new("std", [[3, 4]], x => x[0].Std([0], correction: 0)),
        new("logsumexp", [[3, 4]], x => x[0].LogSumExp(1)),
        new("norm", [[3, 4]], x => x[0].Norm(2, [1])),
        new("norm3", [[3, 4]], x => x[0].Norm(3, [1])),
        new("reshape", [[2, 6]], x => x[0].Reshape(3, -1, 2)),
        new("transpose", [[2, 3]], x => x[0].Transpose(0, 1) * 1.0),
        new("permute", [[2, 3, 4]], x => x[0].Permute(2, 0, 1) * 1.0),
        new("unsqueeze_squeeze", [[3, 1, 2]], x => x[0].Squeeze(1).Unsqueeze(0)),
        new("expand", [[3, 1]], x => x[0].Expand(3, 4) * 1.0),
        new("narrow", [[4, 5]], x => x[0].Narrow(1, 1, 3)),
        new("select", [[4, 5]], x => x[0].Select(0, 2)),
        new("cat", [[2, 3], [1, 3]], x => Tensor.Cat([x[0], x[1]], 0)),
        new("stack", [[2, 3], [2, 3]], x => Tensor.Stack([x[0], x[1]], 1)),
        new("index_select", [[4, 3]], x => x[0].IndexSelect(0, Tensor.FromArray([3L, 0L, 3L]))),
        new("matmul_batched", [[2, 3, 4], [4, 2]], x => x[0].MatMul(x[1])),
        new("matmul_broadcast", [[2, 1, 3, 4], [3, 4, 2]], x => x[0].MatMul(x[1])),
        new("mv", [[3, 4], [4]], x => x[0].MatMul(x[1])),
        new("dot", [[4], [4]], x => x[0].MatMul(x[1])),
        new("linear", [[3, 4], [2, 4], [2]], x => Functional.Linear(x[0], x[1], x[2])),
        new("softmax", [[3, 4]], x => Functional.Softmax(x[0], 0)),
        new("log_softmax", [[3, 4]], x => Functional.LogSoftmax(x[0], -1)),
        new("cross_entropy", [[3, 4]], x => Functional.CrossEntropy(x[0], Tensor.FromArray([1L, 3L, 0L]), labelSmoothing: 0.1)),
        new("nll_loss", [[3, 4]], x => Functional.NllLoss(x[0], Tensor.FromArray([1L, 3L, 0L]))),
        new("nll_loss_weight_ignore_sum", [[4, 3]], x => Functional.NllLoss(x[0], Tensor.FromArray([2L, -1L, 0L, 2L]), Tensor.FromArray([0.5, 2.0, 1.5]), Reduction.Sum, ignoreIndex: -1)),
        new("nll_loss_kdim_none", [[2, 3, 2, 2]], x => Functional.NllLoss(x[0], Tensor.FromArray([0L, 2L, 1L, 1L, 2L, 0L, 0L, 1L], 2, 2, 2), reduction: Reduction.None)),
        new("nll_loss_unbatched_weight_mean", [[5]], x => Functional.NllLoss(x[0], Tensor.FromArray(new[] { 3L }).Reshape([]), Tensor.FromArray([1.0, 2.0, 3.0, 4.0, 5.0]))),
        new("nll_loss_transposed_input", [[4, 3]], x => Functional.NllLoss(x[0].T, Tensor.FromArray([1L, 3L, 0L]))),
        new("cross_entropy_plain", [[3, 4]], x => Functional.CrossEntropy(x[0], Tensor.FromArray([1L, 3L, 0L]))),
        new("bce_with_logits", [[4], [4], [4]], x => Functional.BinaryCrossEntropyWithLogits(x[0], x[1].Sigmoid(), posWeight: x[2].Exp())),
        new("bce", [[4], [4]], x => Functional.BinaryCrossEntropy(x[0].Sigmoid(), x[1].Sigmoid())),
        new("mse_loss", [[2, 3], [2, 3]], x => Functional.MseLoss(x[0], x[1])),
        new("l1_loss", [[2, 3], [2, 3]], x => Functional.L1Loss(x[0], x[1]), SecondOrder: false),
        new("smooth_l1_loss", [[2, 3], [2, 3]], x => Functional.SmoothL1Loss(x[0], x[1], beta: 0.5), SecondOrder: false),
        new("layer_norm", [[2, 5], [5], [5]], x => Functional.LayerNorm(x[0], [5], x[1], x[2])),
        new("embedding", [[5, 3]], x => Functional.Embedding(Tensor.FromArray([4L, 0L, 4L, 2L], 2, 2), x[0])),
        new("conv2d", [[1, 2, 5, 4], [3, 2, 3, 2], [3]], x => Functional.Conv2d(x[0], x[1], x[2], (2, 1), (1, 0))),
        new("max_pool2d", [[1, 2, 4, 4]], x => Functional.MaxPool2d(x[0], (2, 2), (1, 2)), SecondOrder: false),
    ];

    public static TheoryData<string, BackendKind> Cases()
    {
        var data = new TheoryData<string, BackendKind>();
        foreach (var op in Ops)
            foreach (var b in new[] { BackendKind.Native, BackendKind.Managed })
                data.Add(op.Name, b);
        return data;
    }

    private static Tensor[] Inputs(OpInfo op, ulong seed)
    {
        var gen = new Generator(seed);
        return op.Shapes.Select(s =>
        {
            var t = Tensor.Randn(s, DType.Float64, gen);
            if (op.Positive) t = t.Abs() + 0.5;
            return t.RequiresGrad_();
        }).ToArray();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradCheckPasses(string name, BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var op = Ops.Single(o => o.Name == name);
        Assert.True(GradCheck.Check(op.Function, Inputs(op, 11)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradGradCheckPasses(string name, BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var op = Ops.Single(o => o.Name == name);
        if (!op.SecondOrder)
        {
            // Kinked ops: their second derivative is zero almost everywhere; the first-order graph must still be built.
            var x = Inputs(op, 12);
            var grads = Autograd.Autograd.Grad([op.Function(x).Sum()], x, createGraph: true, allowUnused: true);
            Assert.Contains(grads, g => g is not null);
            return;
        }
        Assert.True(GradCheck.CheckSecondOrder(op.Function, Inputs(op, 12)));
    }

    [Fact]
    public void GradCheckDetectsAWrongGradient()
    {
        var x = Tensor.Randn([3], DType.Float64, new Generator(1)).RequiresGrad_();
        // A deliberately wrong backward: detach half of the product so its gradient is lost.
        Assert.Throws<GradCheckException>(() => GradCheck.Check(t => t[0] * t[0].Detach(), [x]));
    }
}
