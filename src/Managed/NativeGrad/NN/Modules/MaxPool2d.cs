namespace NativeGrad.NN;

/// <summary>2-D max pooling over [N, C, H, W] without padding, PyTorch's <c>nn.MaxPool2d</c>; the stride defaults to the kernel size.</summary>
public sealed class MaxPool2d : Module
{
    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="kernelSize">Height and width of the window.</param>
    /// <param name="stride">Step between windows (default: the kernel size).</param>
    public MaxPool2d(long kernelSize, long? stride = null)
        : this((kernelSize, kernelSize), stride is { } s ? (s, s) : null)
    {
    }

    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">Height and width of the window.</param>
    /// <param name="stride">Step between windows (default: the kernel size).</param>
    public MaxPool2d((long H, long W) kernelSize, (long H, long W)? stride)
    {
        if (kernelSize.H < 1 || kernelSize.W < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "The kernel size must be positive.");
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        if (Stride.H < 1 || Stride.W < 1) throw new ArgumentOutOfRangeException(nameof(stride), Stride, "The stride must be positive.");
    }

    /// <summary>Height and width of the window.</summary>
    public (long H, long W) KernelSize { get; }

    /// <summary>Step between windows.</summary>
    public (long H, long W) Stride { get; }

    /// <summary>The maximum of each window.</summary>
    /// <param name="input">The input, [N, C, H, W].</param>
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, KernelSize, Stride);

    /// <inheritdoc/>
    protected override string ExtraRepr() => KernelSize.H == KernelSize.W && Stride.H == Stride.W
        ? $"kernel_size={KernelSize.H}, stride={Stride.H}, padding=0, dilation=1, ceil_mode=False"
        : $"kernel_size=({KernelSize.H}, {KernelSize.W}), stride=({Stride.H}, {Stride.W}), padding=0, dilation=1, ceil_mode=False";
}
