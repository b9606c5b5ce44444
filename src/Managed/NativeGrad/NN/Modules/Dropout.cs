using NativeGrad.Autograd;
using NativeGrad.Backends;
using NativeGrad.Ops;

namespace NativeGrad.NN;

/// <summary>
/// PyTorch's <c>nn.Dropout</c>: in training mode each element is zeroed with probability <see cref="P"/> and the
/// survivors are scaled by 1 / (1 - p) (inverted dropout, so evaluation needs no rescaling); in evaluation mode
/// (<see cref="Module.Eval"/>) the input passes through unchanged. The masks come from the module's generator, so a
/// seeded generator gives the same masks on every run and backend.
/// </summary>
/// <example>
/// <code>
/// var drop = new Dropout(0.2, new Generator(7));
/// var y = drop.Call(x);   // training: about 20% zeros, the rest × 1.25
/// drop.Eval();
/// var z = drop.Call(x);   // z is x
/// </code>
/// </example>
public sealed class Dropout : Module
{
    private readonly Generator _generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="p">The probability of zeroing an element, in [0, 1].</param>
    /// <param name="generator">The random source of the masks (default: <see cref="Generator.Default"/>).</param>
    public Dropout(double p = 0.5, Generator? generator = null)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"dropout probability has to be between 0 and 1, but got {p}");
        P = p;
        _generator = generator ?? Generator.Default;
    }

    /// <summary>The probability of zeroing an element.</summary>
    public double P { get; }

    /// <summary>Applies dropout in training mode; returns <paramref name="input"/> itself in evaluation mode.</summary>
    /// <param name="input">Any floating tensor.</param>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.RequireFloat("dropout");
        if (!Training || P == 0) return input;
        Tensor mask;
        using (GradMode.NoGrad())
        {
            // keep = u < 1 - p (a Bernoulli(1 - p) draw), scaled so the expectation is unchanged; p = 1 keeps nothing.
            var u = Tensor.Rand(input.ShapeArray, input.DType, _generator);
            var keep = Kernels.Unary(u, UnaryOp.LtScalar, 1.0 - P);
            mask = P == 1 ? keep : Kernels.Unary(keep, UnaryOp.Affine, 1.0 / (1.0 - P), 0.0);
            u.Dispose();
            if (!ReferenceEquals(mask, keep)) keep.Dispose();
        }
        return input * mask;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={PyFloat(P)}, inplace=False";
}
