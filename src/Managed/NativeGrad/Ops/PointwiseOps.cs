using NativeGrad.Backends;
using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad;

// Element-wise unary ops. Each op states its forward kernel and its backward formula together, the backward in
// differentiable tensor ops (so higher-order gradients come for free), as PyTorch's derivatives.yaml does.
public sealed partial class Tensor
{
    private Tensor UnaryOp(UnaryOp op, string name, bool saveInput, bool saveResult, BackwardFormula backward, double alpha = 0, double beta = 0)
    {
        RequireFloat(name);
        var result = Kernels.Unary(this, op, alpha, beta);
        if (!Graph.IsRecording(this)) return result;
        // One call per case: each collection expression is a span on the stack (a Tensor?[] chosen by a conditional is an array).
        if (saveInput && saveResult) return Graph.Record(name, result, [this], [this, result], backward);
        if (saveInput) return Graph.Record(name, result, [this], [this], backward);
        if (saveResult) return Graph.Record(name, result, [this], [result], backward);
        return Graph.Record(name, result, [this], [], backward);
    }

    internal void RequireFloat(string op)
    {
        ThrowIfDisposed();
        if (!DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: expected a floating point tensor but got {DType.TorchName()} with shape {Shapes.Format(Shape)}");
    }

    /// <summary>-x.</summary>
    public Tensor Neg() => UnaryOp(Backends.UnaryOp.Neg, "NegBackward0", false, false, (c, g) => [-g]);

    /// <summary>e^x.</summary>
    public Tensor Exp() => UnaryOp(Backends.UnaryOp.Exp, "ExpBackward0", false, true, (c, g) => [g * c.Saved(0)]);

    /// <summary>Natural logarithm; log(0) = -inf, log of a negative number = NaN.</summary>
    public Tensor Log() => UnaryOp(Backends.UnaryOp.Log, "LogBackward0", true, false, (c, g) => [g / c.Saved(0)]);

    /// <summary>Square root.</summary>
    public Tensor Sqrt() => UnaryOp(Backends.UnaryOp.Sqrt, "SqrtBackward0", false, true, (c, g) => [g / (c.Saved(0) * 2.0)]);

    /// <summary>1 / sqrt(x).</summary>
    public Tensor Rsqrt() => UnaryOp(Backends.UnaryOp.Rsqrt, "RsqrtBackward0", false, true, (c, g) => [g * c.Saved(0).Pow(3) * -0.5]);

    /// <summary>|x|; its gradient at 0 is 0, as in PyTorch.</summary>
    public Tensor Abs() => UnaryOp(Backends.UnaryOp.Abs, "AbsBackward0", true, false, (c, g) => [g * Kernels.Unary(c.Saved(0), Backends.UnaryOp.Sign)]);

    /// <summary>Sine.</summary>
    public Tensor Sin() => UnaryOp(Backends.UnaryOp.Sin, "SinBackward0", true, false, (c, g) => [g * c.Saved(0).Cos()]);

    /// <summary>Cosine.</summary>
    public Tensor Cos() => UnaryOp(Backends.UnaryOp.Cos, "CosBackward0", true, false, (c, g) => [-(g * c.Saved(0).Sin())]);

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => UnaryOp(Backends.UnaryOp.Tanh, "TanhBackward0", false, true, (c, g) =>
    {
        var y = c.Saved(0);
        return [g * (1.0 - y * y)];
    });

    /// <summary>The logistic function 1 / (1 + e^-x).</summary>
    public Tensor Sigmoid() => UnaryOp(Backends.UnaryOp.Sigmoid, "SigmoidBackward0", false, true, (c, g) =>
    {
        var y = c.Saved(0);
        return [g * y * (1.0 - y)];
    });

    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => UnaryOp(Backends.UnaryOp.Relu, "ReluBackward0", false, true,
        (c, g) => [g * Kernels.Unary(c.Saved(0), Backends.UnaryOp.GtScalar, 0)]);

    /// <summary>sign(x): -1, 0 or 1 (NaN for NaN); its gradient is zero.</summary>
    public Tensor Sign() => UnaryOp(Backends.UnaryOp.Sign, "SignBackward0", false, false, (c, g) => [g * 0.0]);

    /// <summary>The error function.</summary>
    public Tensor Erf() => UnaryOp(Backends.UnaryOp.Erf, "ErfBackward0", true, false, (c, g) =>
    {
        var x = c.Saved(0);
        return [g * (x * x).Neg().Exp() * (2.0 / Math.Sqrt(Math.PI))];
    });

    /// <summary>log(1 + x), accurate for small x.</summary>
    public Tensor Log1p() => UnaryOp(Backends.UnaryOp.Log1p, "Log1PBackward0", true, false, (c, g) => [g / (c.Saved(0) + 1.0)]);

    /// <summary>e^x - 1, accurate for small x.</summary>
    public Tensor Expm1() => UnaryOp(Backends.UnaryOp.Expm1, "Expm1Backward0", false, true, (c, g) => [g * (c.Saved(0) + 1.0)]);

    /// <summary>1 / x.</summary>
    public Tensor Reciprocal() => UnaryOp(Backends.UnaryOp.Reciprocal, "ReciprocalBackward0", false, true, (c, g) =>
    {
        var y = c.Saved(0);
        return [-(g * y * y)];
    });

    /// <summary>x * x (recorded as PyTorch records it: <c>PowBackward0</c>).</summary>
    public Tensor Square() => Pow(2.0);

    /// <summary>x raised to a scalar power.</summary>
    public Tensor Pow(double exponent)
    {
        RequireFloat("pow");
        var result = Kernels.Unary(this, Backends.UnaryOp.PowScalar, exponent);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("PowBackward0", result, [this], [this], (c, g) =>
        {
            if (exponent == 0.0) return [g * 0.0];
            return [g * (c.Saved(0).Pow(exponent - 1.0) * exponent)];
        });
    }

    /// <summary>x * sigmoid(x) (SiLU, swish).</summary>
    public Tensor Silu() => UnaryOp(Backends.UnaryOp.Silu, "SiluBackward0", true, false, (c, g) =>
    {
        var x = c.Saved(0);
        var s = x.Sigmoid();
        return [g * s * (1.0 + x * (1.0 - s))];
    });

    /// <summary>GELU; <paramref name="approximate"/> is "none" (the erf form) or "tanh".</summary>
    public Tensor Gelu(string approximate = "none")
    {
        if (approximate == "tanh")
        {
            return UnaryOp(Backends.UnaryOp.GeluTanh, "GeluBackward0", true, false, (c, g) =>
            {
                const double Kappa = 0.044715;
                double beta = Math.Sqrt(2.0 / Math.PI);
                var x = c.Saved(0);
                var xSquared = x * x;
                var inner = (x + xSquared * x * Kappa) * beta;
                var t = inner.Tanh();
                var left = x * 0.5;
                var leftDerivative = (t + 1.0) * 0.5;
                var rightDerivative = left * (1.0 - t * t) * ((xSquared * (3.0 * Kappa) + 1.0) * beta);
                return [g * (leftDerivative + rightDerivative)];
            });
        }
        if (approximate != "none") throw new ArgumentException($"gelu: approximate must be \"none\" or \"tanh\", got \"{approximate}\"");
        return UnaryOp(Backends.UnaryOp.Gelu, "GeluBackward0", true, false, (c, g) =>
        {
            var x = c.Saved(0);
            var cdf = ((x * (1.0 / Math.Sqrt(2.0))).Erf() + 1.0) * 0.5;
            var pdf = (x * x * -0.5).Exp() * (1.0 / Math.Sqrt(2.0 * Math.PI));
            return [g * (cdf + x * pdf)];
        });
    }

    /// <summary>log(1 + e^(beta x)) / beta, linear above <paramref name="threshold"/> (PyTorch's softplus).</summary>
    public Tensor Softplus(double beta = 1.0, double threshold = 20.0) =>
        UnaryOp(Backends.UnaryOp.Softplus, "SoftplusBackward0", true, false, (c, g) =>
        {
            var x = c.Saved(0);
            var linear = Kernels.Unary(x, Backends.UnaryOp.GtScalar, threshold / beta);
            return [g * (linear + (1.0 - linear) * (x * beta).Sigmoid())];
        }, beta, threshold);

    /// <summary>x for x &gt; 0, negativeSlope * x otherwise.</summary>
    public Tensor LeakyRelu(double negativeSlope = 0.01) =>
        UnaryOp(Backends.UnaryOp.LeakyRelu, "LeakyReluBackward0", true, false, (c, g) =>
        {
            var positive = Kernels.Unary(c.Saved(0), Backends.UnaryOp.GtScalar, 0);
            return [g * (positive * (1.0 - negativeSlope) + negativeSlope)];
        }, negativeSlope);

    /// <summary>x for x &gt; 0, alpha (e^x - 1) otherwise.</summary>
    public Tensor Elu(double alpha = 1.0) =>
        UnaryOp(Backends.UnaryOp.Elu, "EluBackward0", true, false, (c, g) =>
        {
            var x = c.Saved(0);
            var positive = Kernels.Unary(x, Backends.UnaryOp.GtScalar, 0);
            return [g * (positive + (1.0 - positive) * x.Exp() * alpha)];
        }, alpha);

    /// <summary>Limits every element to [min, max]; a null bound is no bound. NaN stays NaN.</summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        if (min is null && max is null) throw new ArgumentException("clamp: At least one of 'min' or 'max' must not be None");
        double lo = min ?? double.NaN, hi = max ?? double.NaN;
        return UnaryOp(Backends.UnaryOp.Clamp, "ClampBackward1", true, false, (c, g) =>
        {
            var x = c.Saved(0);
            Tensor mask = min is null ? Kernels.Unary(x, Backends.UnaryOp.LeScalar, hi)
                : max is null ? Kernels.Unary(x, Backends.UnaryOp.GeScalar, lo)
                : Kernels.Binary(Kernels.Unary(x, Backends.UnaryOp.GeScalar, lo), Kernels.Unary(x, Backends.UnaryOp.LeScalar, hi), Backends.BinaryOp.Mul, "clamp");
            return [g * mask];
        }, lo, hi);
    }
}
