namespace NativeGrad.NN;

/// <summary>
/// 2-D convolution (cross-correlation) over [N, C, H, W] with zero padding, PyTorch's <c>nn.Conv2d</c> (groups and
/// dilation 1). Weight [out, in, kh, kw] and bias [out] are initialised from U(-1/√fan_in, 1/√fan_in),
/// fan_in = in × kh × kw, as PyTorch does.
/// </summary>
/// <example>
/// <code>
/// var conv = new Conv2d(1, 8, kernelSize: 3, padding: 1);
/// var y = conv.Call(Tensor.Randn(16, 1, 28, 28)); // [16, 8, 28, 28]
/// </code>
/// </example>
public sealed class Conv2d : Module
{
    /// <summary>Creates the layer with a square kernel, stride and padding.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output.</param>
    /// <param name="kernelSize">Height and width of the kernel.</param>
    /// <param name="stride">Step between windows, in both dims.</param>
    /// <param name="padding">Zeros added on every side.</param>
    /// <param name="bias">Learn an additive bias per output channel.</param>
    /// <param name="generator">The random source of the initial weights (default: <see cref="Generator.Default"/>).</param>
    /// <param name="dtype">The parameters' dtype (default: <see cref="Tensor.DefaultDType"/>).</param>
    public Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, bool bias = true, Generator? generator = null, DType? dtype = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), bias, generator, dtype)
    {
    }

    /// <summary>Creates the layer with separate heights and widths.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output.</param>
    /// <param name="kernelSize">Height and width of the kernel.</param>
    /// <param name="stride">Step between windows (default 1, 1).</param>
    /// <param name="padding">Zeros added above/below and left/right (default 0, 0).</param>
    /// <param name="bias">Learn an additive bias per output channel.</param>
    /// <param name="generator">The random source of the initial weights (default: <see cref="Generator.Default"/>).</param>
    /// <param name="dtype">The parameters' dtype (default: <see cref="Tensor.DefaultDType"/>).</param>
    public Conv2d(long inChannels, long outChannels, (long H, long W) kernelSize, (long H, long W)? stride = null, (long H, long W)? padding = null,
                  bool bias = true, Generator? generator = null, DType? dtype = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        if (kernelSize.H < 1 || kernelSize.W < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "The kernel size must be positive.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride ?? (1, 1);
        Padding = padding ?? (0, 0);
        if (Stride.H < 1 || Stride.W < 1) throw new ArgumentOutOfRangeException(nameof(stride), Stride, "The stride must be positive.");
        if (Padding.H < 0 || Padding.W < 0) throw new ArgumentOutOfRangeException(nameof(padding), Padding, "The padding cannot be negative.");
        var type = dtype ?? Tensor.DefaultDType;
        Weight = RegisterParameter("weight", Tensor.Zeros([outChannels, inChannels, kernelSize.H, kernelSize.W], type));
        Init.KaimingUniform_(Weight, a: Math.Sqrt(5.0), generator: generator);
        if (bias)
        {
            Bias = RegisterParameter("bias", Tensor.Zeros([outChannels], type));
            double bound = 1.0 / Math.Sqrt(inChannels * kernelSize.H * kernelSize.W);
            Init.Uniform_(Bias, -bound, bound, generator);
        }
    }

    /// <summary>Channels of the input.</summary>
    public long InChannels { get; }

    /// <summary>Channels of the output.</summary>
    public long OutChannels { get; }

    /// <summary>Height and width of the kernel.</summary>
    public (long H, long W) KernelSize { get; }

    /// <summary>Step between windows.</summary>
    public (long H, long W) Stride { get; }

    /// <summary>Zeros added on each side.</summary>
    public (long H, long W) Padding { get; }

    /// <summary>The weight, [out_channels, in_channels, kh, kw].</summary>
    public Tensor Weight { get; }

    /// <summary>The bias, [out_channels], or null when created with bias: false.</summary>
    public Tensor? Bias { get; }

    /// <summary>Convolves input [N, in_channels, H, W] into [N, out_channels, H', W'].</summary>
    /// <param name="input">The input, [N, in_channels, H, W].</param>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding);

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size=({KernelSize.H}, {KernelSize.W}), stride=({Stride.H}, {Stride.W})";
        if (Padding != (0, 0)) s += $", padding=({Padding.H}, {Padding.W})";
        return Bias is null ? s + ", bias=False" : s;
    }
}
