namespace NativeGrad.NN;

/// <summary>
/// y = x Wᵀ + b, PyTorch's <c>nn.Linear</c>: weight [out, in] and bias [out], both initialised from
/// U(-1/√in, 1/√in) (kaiming_uniform with a = √5 for the weight, as PyTorch does).
/// </summary>
/// <example>
/// <code>
/// var fc = new Linear(784, 256, generator: new Generator(0));
/// var y = fc.Call(Tensor.Randn(64, 784)); // [64, 256]
/// </code>
/// </example>
public sealed class Linear : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">The size of each input sample (the last dim of the input).</param>
    /// <param name="outFeatures">The size of each output sample.</param>
    /// <param name="bias">Learn an additive bias.</param>
    /// <param name="generator">The random source of the initial weights (default: <see cref="Generator.Default"/>).</param>
    /// <param name="dtype">The parameters' dtype (default: <see cref="Tensor.DefaultDType"/>).</param>
    public Linear(long inFeatures, long outFeatures, bool bias = true, Generator? generator = null, DType? dtype = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegative(outFeatures);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var type = dtype ?? Tensor.DefaultDType;
        Weight = RegisterParameter("weight", Tensor.Zeros([outFeatures, inFeatures], type));
        if (inFeatures > 0 && outFeatures > 0) Init.KaimingUniform_(Weight, a: Math.Sqrt(5.0), generator: generator);
        if (bias)
        {
            Bias = RegisterParameter("bias", Tensor.Zeros([outFeatures], type));
            double bound = inFeatures > 0 ? 1.0 / Math.Sqrt(inFeatures) : 0.0;
            Init.Uniform_(Bias, -bound, bound, generator);
        }
    }

    /// <summary>The size of each input sample.</summary>
    public long InFeatures { get; }

    /// <summary>The size of each output sample.</summary>
    public long OutFeatures { get; }

    /// <summary>The weight, [out_features, in_features].</summary>
    public Tensor Weight { get; }

    /// <summary>The bias, [out_features], or null when created with bias: false.</summary>
    public Tensor? Bias { get; }

    /// <summary>x Wᵀ + b for input [..., in_features].</summary>
    /// <param name="input">The input, [..., in_features].</param>
    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={PyBool(Bias is not null)}";
}
