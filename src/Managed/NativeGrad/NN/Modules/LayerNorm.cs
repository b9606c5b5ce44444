namespace NativeGrad.NN;

/// <summary>
/// Layer normalisation over the last dims, PyTorch's <c>nn.LayerNorm</c>: (x - mean) / √(var + eps) × weight + bias,
/// weight initialised to ones and bias to zeros.
/// </summary>
public sealed class LayerNorm : Module
{
    /// <summary>Normalises over the last dim, of size <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">The size of the last dim.</param>
    /// <param name="eps">Added to the variance for stability.</param>
    /// <param name="elementwiseAffine">Learn a weight (and bias) per normalised element.</param>
    /// <param name="bias">Learn the bias too (when <paramref name="elementwiseAffine"/>).</param>
    /// <param name="dtype">The parameters' dtype (default: <see cref="Tensor.DefaultDType"/>).</param>
    public LayerNorm(long normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType? dtype = null)
        : this([normalizedShape], eps, elementwiseAffine, bias, dtype)
    {
    }

    /// <summary>Normalises over the last dims, of shape <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">The shape of the trailing dims normalised together.</param>
    /// <param name="eps">Added to the variance for stability.</param>
    /// <param name="elementwiseAffine">Learn a weight (and bias) per normalised element.</param>
    /// <param name="bias">Learn the bias too (when <paramref name="elementwiseAffine"/>).</param>
    /// <param name="dtype">The parameters' dtype (default: <see cref="Tensor.DefaultDType"/>).</param>
    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true, DType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d < 1))
            throw new ArgumentException($"normalized_shape must be a non-empty list of positive sizes, got {Shapes.Format(normalizedShape)}", nameof(normalizedShape));
        _shape = (long[])normalizedShape.Clone();
        Eps = eps;
        var type = dtype ?? Tensor.DefaultDType;
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(_shape, type));
            if (bias) Bias = RegisterParameter("bias", Tensor.Zeros(_shape, type));
        }
    }

    private readonly long[] _shape;

    /// <summary>The shape of the trailing dims normalised together.</summary>
    public IReadOnlyList<long> NormalizedShape => _shape;

    /// <summary>Added to the variance for stability.</summary>
    public double Eps { get; }

    /// <summary>The per-element scale (ones initially), or null without elementwise affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>The per-element shift (zeros initially), or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Normalises the trailing dims of <paramref name="input"/>.</summary>
    /// <param name="input">A tensor whose last dims have the normalised shape.</param>
    public override Tensor Forward(Tensor input) => Functional.LayerNorm(input, _shape, Weight, Bias, Eps);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"({string.Join(", ", NormalizedShape)}{(NormalizedShape.Count == 1 ? "," : "")}), eps={PyFloat(Eps)}, elementwise_affine={PyBool(Weight is not null)}";
}
