using NativeGrad.Backends;
using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad;

// Element-wise binary ops with NumPy broadcasting. Gradients are summed back to each input's shape by the node
// (as PyTorch's validate_outputs does), so the formulas below are written for the broadcast shape.
public sealed partial class Tensor
{
    private Tensor BinaryOp(Tensor other, BinaryOp op, string opName)
    {
        ArgumentNullException.ThrowIfNull(other);
        RequireFloat(opName);
        other.RequireFloat(opName);
        return Kernels.Binary(this, other, op, opName);
    }

    /// <summary>this + alpha * other, broadcasting.</summary>
    public Tensor Add(Tensor other, double alpha = 1.0)
    {
        var result = alpha == 1.0 ? BinaryOp(other, Backends.BinaryOp.Add, "add") : ScaledBinary(other, alpha, Backends.BinaryOp.Add, "add");
        if (!Graph.IsRecording(this, other)) return result;
        return Graph.Record("AddBackward0", result, [this, other], [], alpha, static (c, g) => [g, c.Scalar == 1.0 ? g : g * c.Scalar]);
    }

    /// <summary>this op (alpha * other), with the scaled temporary given back to the pool at once.</summary>
    private Tensor ScaledBinary(Tensor other, double alpha, BinaryOp op, string opName)
    {
        ArgumentNullException.ThrowIfNull(other);
        other.RequireFloat(opName);
        using var scaled = Kernels.Unary(other, Backends.UnaryOp.Affine, alpha, 0.0);
        return BinaryOp(scaled, op, opName);
    }

    /// <summary>
    /// this + other written into <paramref name="output"/> (PyTorch's <c>out=</c>): no result tensor is created, so a
    /// loop reusing its outputs allocates nothing. <paramref name="output"/> must have the broadcast shape and the
    /// result dtype, may be <c>this</c> or <paramref name="other"/> itself but not overlap them otherwise, and is not
    /// differentiable (as in PyTorch, an input requiring grad with grad mode on is an error). Returns <paramref name="output"/>.
    /// </summary>
    public Tensor Add(Tensor other, Tensor output) => BinaryInto(other, output, Backends.BinaryOp.Add, "add");

    /// <summary>this - other written into <paramref name="output"/> (see <see cref="Add(Tensor, Tensor)"/>).</summary>
    public Tensor Sub(Tensor other, Tensor output) => BinaryInto(other, output, Backends.BinaryOp.Sub, "sub");

    /// <summary>this * other written into <paramref name="output"/> (see <see cref="Add(Tensor, Tensor)"/>).</summary>
    public Tensor Mul(Tensor other, Tensor output) => BinaryInto(other, output, Backends.BinaryOp.Mul, "mul");

    /// <summary>this / other written into <paramref name="output"/> (see <see cref="Add(Tensor, Tensor)"/>).</summary>
    public Tensor Div(Tensor other, Tensor output) => BinaryInto(other, output, Backends.BinaryOp.Div, "div");

    private Tensor BinaryInto(Tensor other, Tensor output, BinaryOp op, string opName)
    {
        ArgumentNullException.ThrowIfNull(other);
        ArgumentNullException.ThrowIfNull(output);
        RequireFloat(opName);
        other.RequireFloat(opName);
        if (GradMode.IsEnabled && (RequiresGrad || other.RequiresGrad || output.RequiresGrad))
            throw new InvalidOperationException($"{opName}(): functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad.");
        Kernels.BinaryInto(this, other, output, op, opName);
        return output;
    }

    /// <summary>this + scalar.</summary>
    public Tensor Add(double scalar)
    {
        RequireFloat("add");
        var result = Kernels.Unary(this, Backends.UnaryOp.Affine, 1.0, scalar);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("AddBackward0", result, [this], [], (c, g) => [g]);
    }

    /// <summary>this - alpha * other, broadcasting.</summary>
    public Tensor Sub(Tensor other, double alpha = 1.0)
    {
        var result = alpha == 1.0 ? BinaryOp(other, Backends.BinaryOp.Sub, "sub") : ScaledBinary(other, alpha, Backends.BinaryOp.Sub, "sub");
        if (!Graph.IsRecording(this, other)) return result;
        return Graph.Record("SubBackward0", result, [this, other], [], alpha, static (c, g) => [g, g * -c.Scalar]);
    }

    /// <summary>this - scalar.</summary>
    public Tensor Sub(double scalar)
    {
        RequireFloat("sub");
        var result = Kernels.Unary(this, Backends.UnaryOp.Affine, 1.0, -scalar);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("SubBackward0", result, [this], [], (c, g) => [g]);
    }

    /// <summary>scalar - this.</summary>
    public Tensor RSub(double scalar)
    {
        RequireFloat("rsub");
        var result = Kernels.Unary(this, Backends.UnaryOp.Affine, -1.0, scalar);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("RsubBackward1", result, [this], [], (c, g) => [-g]);
    }

    /// <summary>Element-wise product, broadcasting.</summary>
    public Tensor Mul(Tensor other)
    {
        var result = BinaryOp(other, Backends.BinaryOp.Mul, "mul");
        if (!Graph.IsRecording(this, other)) return result;
        return Graph.Record("MulBackward0", result, [this, other], [this, other], (c, g) =>
            [c.NeedsInputGrad(0) ? g * c.Saved(1) : null, c.NeedsInputGrad(1) ? g * c.Saved(0) : null]);
    }

    /// <summary>this * scalar.</summary>
    public Tensor Mul(double scalar)
    {
        RequireFloat("mul");
        var result = Kernels.Unary(this, Backends.UnaryOp.Affine, scalar, 0.0);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("MulBackward0", result, [this], [], scalar, static (c, g) => [g * c.Scalar]);
    }

    /// <summary>Element-wise quotient, broadcasting.</summary>
    public Tensor Div(Tensor other)
    {
        var result = BinaryOp(other, Backends.BinaryOp.Div, "div");
        if (!Graph.IsRecording(this, other)) return result;
        return Graph.Record("DivBackward0", result, [this, other], [this, other], (c, g) =>
        {
            var b = c.Saved(1);
            return [c.NeedsInputGrad(0) ? g / b : null, c.NeedsInputGrad(1) ? -(g * c.Saved(0)) / (b * b) : null];
        });
    }

    /// <summary>this / scalar.</summary>
    public Tensor Div(double scalar)
    {
        RequireFloat("div");
        var result = Kernels.BinaryScalar(this, scalar, Backends.BinaryOp.Div);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("DivBackward0", result, [this], [], scalar, static (c, g) => [g / c.Scalar]);
    }

    /// <summary>scalar / this.</summary>
    public Tensor RDiv(double scalar)
    {
        RequireFloat("div");
        var result = Kernels.BinaryScalar(this, scalar, Backends.BinaryOp.Div, scalarFirst: true);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("DivBackward0", result, [this], [this], scalar, static (c, g) =>
        {
            var x = c.Saved(0);
            return [-(g * c.Scalar) / (x * x)];
        });
    }

    /// <summary>this raised to the element-wise power <paramref name="exponent"/>, broadcasting.</summary>
    public Tensor Pow(Tensor exponent)
    {
        var result = BinaryOp(exponent, Backends.BinaryOp.Pow, "pow");
        if (!Graph.IsRecording(this, exponent)) return result;
        return Graph.Record("PowBackward1", result, [this, exponent], [this, exponent, result], (c, g) =>
        {
            var x = c.Saved(0);
            var e = c.Saved(1);
            Tensor? gx = null, ge = null;
            if (c.NeedsInputGrad(0)) gx = g * e * x.Pow(e - 1.0);
            if (c.NeedsInputGrad(1))
            {
                // d/de x^e = x^e log x, defined as 0 where x == 0 and e >= 0 (PyTorch's convention).
                var zeroBase = Kernels.Binary(Kernels.BinaryScalar(x, 0, Backends.BinaryOp.Eq), Kernels.Unary(e, Backends.UnaryOp.GeScalar, 0), Backends.BinaryOp.Mul, "pow");
                var logX = (x + zeroBase).Log();
                ge = g * c.Saved(2) * logX * (1.0 - zeroBase);
            }
            return [gx, ge];
        });
    }

    /// <summary>Element-wise maximum (NaN-propagating); ties split the gradient evenly.</summary>
    public Tensor Maximum(Tensor other) => MinMax(other, Backends.BinaryOp.Maximum, "maximum", "MaximumBackward0", Backends.BinaryOp.Gt);

    /// <summary>Element-wise minimum (NaN-propagating); ties split the gradient evenly.</summary>
    public Tensor Minimum(Tensor other) => MinMax(other, Backends.BinaryOp.Minimum, "minimum", "MinimumBackward0", Backends.BinaryOp.Lt);

    private Tensor MinMax(Tensor other, BinaryOp op, string opName, string nodeName, BinaryOp wins)
    {
        var result = BinaryOp(other, op, opName);
        if (!Graph.IsRecording(this, other)) return result;
        return Graph.Record(nodeName, result, [this, other], [this, other], (c, g) =>
        {
            var a = c.Saved(0);
            var b = c.Saved(1);
            var tie = Kernels.Binary(a, b, Backends.BinaryOp.Eq, opName) * 0.5;
            var aWins = Kernels.Binary(a, b, wins, opName) + tie;
            var bWins = Kernels.Binary(b, a, wins, opName) + tie;
            return [g * aWins, g * bWins];
        });
    }

    /// <summary>In-place this += other without graph or version checks (gradient accumulation).</summary>
    internal unsafe void AddInPlaceUnchecked(Tensor other)
    {
        if (IsContiguous && Shapes.SameShape(Shape, other.Shape) && other.DType == DType)
        {
            if (NumElements == 0) return;
            var o = Kernels.Contiguous(other);
            Runtime.Current.Binary(DType, Backends.BinaryOp.Add, ShapeArray, DataPointer, StridesArray, o.DataPointer, o.StridesArray, DataPointer);
        }
        else
        {
            Kernels.CopyInto(Kernels.Binary(this, other, Backends.BinaryOp.Add, "add_"), this);
        }
        BumpVersion();
    }

#pragma warning disable CS1591 // operators are documented by their named methods
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    public static Tensor operator +(double a, Tensor b) => b.Add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);
    public static Tensor operator -(double a, Tensor b) => b.RSub(a);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    public static Tensor operator /(double a, Tensor b) => b.RDiv(a);
    public static Tensor operator -(Tensor a) => a.Neg();
#pragma warning restore CS1591
}
