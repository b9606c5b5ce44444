using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests.Robustness;

/// <summary>IEEE special values through the op list and its gradients, as PyTorch gives them, on both backends.</summary>
public class NanInfTests
{
    private const double Inf = double.PositiveInfinity, NaN = double.NaN;

    public static TheoryData<BackendKind, DType> BackendsAndDTypes => new()
    {
        { BackendKind.Native, DType.Float32 }, { BackendKind.Native, DType.Float64 },
        { BackendKind.Managed, DType.Float32 }, { BackendKind.Managed, DType.Float64 },
    };

    private static Tensor T(DType dtype, params double[] values) => Tensor.FromArray(values).To(dtype);

    private static void AssertIeee(double expected, double actual, string what)
    {
        if (double.IsNaN(expected)) Assert.True(double.IsNaN(actual), $"{what}: expected NaN, got {actual}");
        else if (double.IsInfinity(expected) || expected == 0) Assert.True(expected == actual, $"{what}: expected {expected}, got {actual}");
        else Assert.True(Math.Abs(expected - actual) <= 1e-5 * Math.Abs(expected), $"{what}: expected {expected}, got {actual}");
    }

    /// <summary>(name, op, input, expected output) — torch's results for these inputs.</summary>
    private static readonly (string Name, Func<Tensor, Tensor> Op, double Input, double Expected)[] UnarySpecials =
    [
        ("log(0)", t => t.Log(), 0, -Inf), ("log(-0)", t => t.Log(), -0.0, -Inf), ("log(-1)", t => t.Log(), -1, NaN),
        ("log(inf)", t => t.Log(), Inf, Inf), ("sqrt(-1)", t => t.Sqrt(), -1, NaN), ("sqrt(inf)", t => t.Sqrt(), Inf, Inf),
        ("sqrt(-inf)", t => t.Sqrt(), -Inf, NaN), ("rsqrt(0)", t => t.Rsqrt(), 0, Inf), ("rsqrt(-1)", t => t.Rsqrt(), -1, NaN),
        ("rsqrt(inf)", t => t.Rsqrt(), Inf, 0), ("reciprocal(0)", t => t.Reciprocal(), 0, Inf),
        ("reciprocal(-0)", t => t.Reciprocal(), -0.0, -Inf), ("reciprocal(inf)", t => t.Reciprocal(), Inf, 0),
        ("exp(inf)", t => t.Exp(), Inf, Inf), ("exp(-inf)", t => t.Exp(), -Inf, 0), ("exp(1000)", t => t.Exp(), 1000, Inf),
        ("expm1(-inf)", t => t.Expm1(), -Inf, -1), ("log1p(-1)", t => t.Log1p(), -1, -Inf), ("log1p(-2)", t => t.Log1p(), -2, NaN),
        ("tanh(inf)", t => t.Tanh(), Inf, 1), ("tanh(-inf)", t => t.Tanh(), -Inf, -1), ("sigmoid(-inf)", t => t.Sigmoid(), -Inf, 0),
        ("sigmoid(inf)", t => t.Sigmoid(), Inf, 1), ("sigmoid(-1000)", t => t.Sigmoid(), -1000, 0),
        ("relu(-inf)", t => t.Relu(), -Inf, 0), ("relu(inf)", t => t.Relu(), Inf, Inf), ("abs(-inf)", t => t.Abs(), -Inf, Inf),
        ("sin(inf)", t => t.Sin(), Inf, NaN), ("cos(-inf)", t => t.Cos(), -Inf, NaN), ("erf(inf)", t => t.Erf(), Inf, 1),
        ("erf(-inf)", t => t.Erf(), -Inf, -1), ("softplus(-inf)", t => t.Softplus(), -Inf, 0), ("softplus(inf)", t => t.Softplus(), Inf, Inf),
        ("sign(-inf)", t => t.Sign(), -Inf, -1), ("square(inf)", t => t.Square(), -Inf, Inf), ("pow(0, -1)", t => t.Pow(-1.0), 0, Inf),
        ("pow(-8, 1/3)", t => t.Pow(1.0 / 3), -8, NaN), ("pow(inf, 0)", t => t.Pow(0.0), Inf, 1), ("pow(nan, 0)", t => t.Pow(0.0), NaN, 1),
        ("clamp(inf, -1, 1)", t => t.Clamp(-1, 1), Inf, 1), ("elu(-inf)", t => t.Elu(), -Inf, -1),
        ("leaky_relu(-inf)", t => t.LeakyRelu(0.1), -Inf, -Inf), ("neg(inf)", t => t.Neg(), Inf, -Inf),
    ];

    [Theory]
    [MemberData(nameof(BackendsAndDTypes))]
    public void SpecialInputsGiveTorchsSpecialOutputs(BackendKind backend, DType dtype)
    {
        using var _ = Backends.Use(backend);
        foreach (var (name, op, input, expected) in UnarySpecials)
            AssertIeee(expected, op(T(dtype, input)).Item(), name);
        var one = T(dtype, 1, -1, 0);
        var zero = T(dtype, 0, 0, 0);
        Assert.Equal([Inf, -Inf], (one / zero).ToDoubleArray()[..2]);
        Assert.True(double.IsNaN((one / zero).ToDoubleArray()[2]), "0/0");
        AssertIeee(NaN, T(dtype, Inf, -Inf).Sum().Item(), "sum(inf, -inf)");
        AssertIeee(NaN, T(dtype, Inf, 0).Prod().Item(), "prod(inf, 0)");
        AssertIeee(Inf, T(dtype, Inf, 1).LogSumExp(0).Item(), "logsumexp(inf, 1)");
        AssertIeee(-Inf, T(dtype, -Inf, -Inf).LogSumExp(0).Item(), "logsumexp(-inf, -inf)");
        AssertIeee(NaN, Tensor.Zeros([0], dtype).Mean().Item(), "mean of nothing");
        var softmax = Functional.Softmax(T(dtype, -Inf, 0), 0).ToDoubleArray();
        Assert.Equal([0.0, 1.0], softmax);
        var logSoftmax = Functional.LogSoftmax(T(dtype, -Inf, 0), 0).ToDoubleArray();
        Assert.Equal([-Inf, 0.0], logSoftmax);
        Assert.All(Functional.Softmax(T(dtype, -Inf, -Inf), 0).ToDoubleArray(), v => Assert.True(double.IsNaN(v)));
    }

    /// <summary>Unary ops whose derivative is a smooth function of the input: NaN in, NaN out, NaN gradient.</summary>
    private static readonly (string Name, Func<Tensor, Tensor> Op)[] SmoothUnary =
    [
        ("exp", t => t.Exp()), ("log", t => t.Log()), ("sqrt", t => t.Sqrt()), ("rsqrt", t => t.Rsqrt()), ("sin", t => t.Sin()),
        ("cos", t => t.Cos()), ("tanh", t => t.Tanh()), ("sigmoid", t => t.Sigmoid()), ("erf", t => t.Erf()), ("log1p", t => t.Log1p()),
        ("expm1", t => t.Expm1()), ("reciprocal", t => t.Reciprocal()), ("square", t => t.Square()), ("pow2.5", t => t.Pow(2.5)),
        ("silu", t => t.Silu()), ("gelu", t => t.Gelu()), ("gelu_tanh", t => t.Gelu("tanh")), ("softplus", t => t.Softplus()),
        ("abs", t => t.Abs()),
    ];

    /// <summary>Ops whose gradient at NaN comes from a comparison (torch's masks): NaN in, NaN out; the gradient is whatever the formula gives, identical on both backends.</summary>
    private static readonly (string Name, Func<Tensor, Tensor> Op)[] PiecewiseUnary =
    [
        ("relu", t => t.Relu()), ("leaky_relu", t => t.LeakyRelu(0.1)), ("clamp", t => t.Clamp(-1, 1)), ("sign", t => t.Sign()),
        ("elu", t => t.Elu()), ("neg", t => t.Neg()),
        ("softmax", t => Functional.Softmax(t, 0)), ("log_softmax", t => Functional.LogSoftmax(t, 0)),
    ];

    private static (double[] Value, double[] Grad) ValueAndGrad(Func<Tensor, Tensor> op, DType dtype, double[] input)
    {
        var x = T(dtype, input).RequiresGrad_();
        var y = op(x);
        y.Sum().Backward();
        return (y.ToDoubleArray(), x.Grad!.ToDoubleArray());
    }

    [Theory]
    [MemberData(nameof(BackendsAndDTypes))]
    public void NanPropagatesThroughEveryUnaryOpAndItsGradient(BackendKind backend, DType dtype)
    {
        using var _ = Backends.Use(backend);
        double[] input = [NaN, 0.5, NaN];
        foreach (var (name, op) in SmoothUnary)
        {
            var (value, grad) = ValueAndGrad(op, dtype, input);
            Assert.True(double.IsNaN(value[0]) && double.IsNaN(value[2]), $"{name}(NaN) = {value[0]}");
            Assert.False(double.IsNaN(value[1]), $"{name}(0.5) must not be NaN");
            Assert.True(double.IsNaN(grad[0]) && double.IsNaN(grad[2]), $"d{name}/dx at NaN = {grad[0]}");
            Assert.False(double.IsNaN(grad[1]) && name != "softmax", $"d{name}/dx at 0.5 is NaN");
        }
        foreach (var (name, op) in PiecewiseUnary)
        {
            var (value, _) = ValueAndGrad(op, dtype, input);
            Assert.True(double.IsNaN(value[0]), $"{name}(NaN) = {value[0]}");
        }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void BothBackendsGiveTheSameSpecialValuesAndGradients(DType dtype)
    {
        double[] input = [NaN, Inf, -Inf, 0.0, -0.0, 1e-30, -2.0, 3.0];
        foreach (var (name, op) in SmoothUnary.Concat(PiecewiseUnary))
        {
            (double[] Value, double[] Grad) native, managed;
            using (Backends.Use(BackendKind.Native)) native = ValueAndGrad(op, dtype, input);
            using (Backends.Use(BackendKind.Managed)) managed = ValueAndGrad(op, dtype, input);
            for (int i = 0; i < input.Length; i++)
            {
                AssertSame(native.Value[i], managed.Value[i], $"{name}({input[i]})");
                AssertSame(native.Grad[i], managed.Grad[i], $"d{name}/dx at {input[i]}");
            }
        }
    }

    private static void AssertSame(double a, double b, string what)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) Assert.True(double.IsNaN(a) && double.IsNaN(b), $"{what}: native {a}, managed {b}");
        else if (double.IsInfinity(a) || double.IsInfinity(b)) Assert.True(a == b, $"{what}: native {a}, managed {b}");
        else Assert.True(Math.Abs(a - b) <= 1e-5 * Math.Max(1, Math.Abs(a)), $"{what}: native {a}, managed {b}");
    }

    [Theory]
    [MemberData(nameof(BackendsAndDTypes))]
    public void NanPropagatesThroughBinaryOpsAndReductions(BackendKind backend, DType dtype)
    {
        using var _ = Backends.Use(backend);
        (string Name, Func<Tensor, Tensor, Tensor> Op)[] binary =
        [
            ("add", (a, b) => a + b), ("sub", (a, b) => a - b), ("mul", (a, b) => a * b), ("div", (a, b) => a / b),
            ("pow", (a, b) => a.Pow(b)), ("maximum", (a, b) => a.Maximum(b)), ("minimum", (a, b) => a.Minimum(b)),
        ];
        foreach (var (name, op) in binary)
        {
            foreach (bool nanFirst in new[] { true, false })
            {
                var a = T(dtype, nanFirst ? NaN : 1.5, 2.0).RequiresGrad_();
                var b = T(dtype, nanFirst ? 0.5 : NaN, 3.0).RequiresGrad_();
                var y = op(a, b);
                Assert.True(double.IsNaN(y.ToDoubleArray()[0]), $"{name} with NaN {(nanFirst ? "first" : "second")}");
                Assert.False(double.IsNaN(y.ToDoubleArray()[1]), $"{name}: NaN leaked to the other element");
                y.Sum().Backward();
                Assert.False(double.IsNaN(a.Grad!.ToDoubleArray()[1]) || double.IsNaN(b.Grad!.ToDoubleArray()[1]), $"{name}: NaN gradient leaked");
                if (name is "mul" or "div" or "pow")
                {
                    var other = nanFirst ? b.Grad! : a.Grad!;   // depends on the NaN operand
                    Assert.True(double.IsNaN(other.ToDoubleArray()[0]), $"d{name} w.r.t. the finite operand must be NaN");
                }
            }
        }
        var x = T(dtype, 1, NaN, 3, 4).Reshape(2, 2).RequiresGrad_();
        foreach (var (name, reduce) in new (string, Func<Tensor, Tensor>)[]
                 {
                     ("sum", t => t.Sum()), ("mean", t => t.Mean()), ("prod", t => t.Prod()), ("amax", t => t.Amax()),
                     ("logsumexp", t => t.LogSumExp(0).Sum()), ("var", t => t.Var()), ("std", t => t.Std()), ("norm", t => t.Norm()),
                     ("matmul", t => t.MatMul(t).Sum()),
                 })
        {
            Assert.True(double.IsNaN(reduce(x).Item()), $"{name} of a tensor holding NaN");
        }
        var rows = x.Sum(1).ToDoubleArray();
        Assert.True(double.IsNaN(rows[0]) && rows[1] == 7, "NaN stays in its own row");
        x.MatMul(T(dtype, 1, 1).Reshape(2, 1)).Sum().Backward();
        Assert.Equal([1.0, 1.0, 1.0, 1.0], x.Grad!.ToDoubleArray());   // the gradient w.r.t. x does not read x
    }
}
