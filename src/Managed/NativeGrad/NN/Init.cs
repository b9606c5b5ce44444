using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad.NN;

/// <summary>How <see cref="Init.KaimingUniform_"/> and <see cref="Init.KaimingNormal_"/> count the fan (PyTorch's <c>mode</c>).</summary>
public enum FanMode
{
    /// <summary>Inputs per output: preserves the variance of activations in the forward pass (the default).</summary>
    FanIn,
    /// <summary>Outputs per input: preserves the variance of gradients in the backward pass.</summary>
    FanOut,
}

/// <summary>
/// PyTorch's <c>torch.nn.init</c>: fills a tensor in place, without recording a graph, from an optional seeded
/// <see cref="Generator"/> (the default generator otherwise). Each returns the tensor it filled.
/// </summary>
/// <example>
/// <code>
/// var w = Tensor.Zeros(256, 784);
/// Init.KaimingUniform_(w, a: Math.Sqrt(5), generator: new Generator(0)); // nn.Linear's default: U(-1/28, 1/28)
/// </code>
/// </example>
public static class Init
{
    /// <summary>Fills with samples of U(<paramref name="low"/>, <paramref name="high"/>).</summary>
    /// <param name="tensor">A floating-point tensor.</param>
    /// <param name="low">The lower bound.</param>
    /// <param name="high">The upper bound.</param>
    /// <param name="generator">The random source (default: <see cref="Generator.Default"/>).</param>
    public static Tensor Uniform_(Tensor tensor, double low = 0.0, double high = 1.0, Generator? generator = null)
    {
        var g = generator ?? Generator.Default;
        return Fill(tensor, "uniform_", () => low + (high - low) * g.NextDouble());
    }

    /// <summary>Fills with samples of N(<paramref name="mean"/>, <paramref name="std"/>²).</summary>
    /// <param name="tensor">A floating-point tensor.</param>
    /// <param name="mean">The mean.</param>
    /// <param name="std">The standard deviation.</param>
    /// <param name="generator">The random source (default: <see cref="Generator.Default"/>).</param>
    public static Tensor Normal_(Tensor tensor, double mean = 0.0, double std = 1.0, Generator? generator = null)
    {
        var g = generator ?? Generator.Default;
        return Fill(tensor, "normal_", () => mean + std * g.NextNormal());
    }

    /// <summary>Fills with <paramref name="value"/>.</summary>
    /// <param name="tensor">The tensor.</param>
    /// <param name="value">The value.</param>
    public static Tensor Constant_(Tensor tensor, double value)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using (GradMode.NoGrad()) Kernels.FillInPlace(tensor, value);
        tensor.BumpVersion();
        return tensor;
    }

    /// <summary>Fills with zeros.</summary>
    /// <param name="tensor">The tensor.</param>
    public static Tensor Zeros_(Tensor tensor) => Constant_(tensor, 0.0);

    /// <summary>Fills with ones.</summary>
    /// <param name="tensor">The tensor.</param>
    public static Tensor Ones_(Tensor tensor) => Constant_(tensor, 1.0);

    /// <summary>
    /// The recommended gain for a nonlinearity (PyTorch's <c>calculate_gain</c>): 1 for linear/conv/sigmoid,
    /// 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu, 3/4 for selu.
    /// </summary>
    /// <param name="nonlinearity">"linear", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu", "leaky_relu" or "selu".</param>
    /// <param name="param">The negative slope of leaky_relu (default 0.01).</param>
    public static double CalculateGain(string nonlinearity, double? param = null) => nonlinearity switch
    {
        "linear" or "conv1d" or "conv2d" or "conv3d" or "conv_transpose1d" or "conv_transpose2d" or "conv_transpose3d" or "sigmoid" => 1.0,
        "tanh" => 5.0 / 3.0,
        "relu" => Math.Sqrt(2.0),
        "leaky_relu" => Math.Sqrt(2.0 / (1.0 + Math.Pow(param ?? 0.01, 2))),
        "selu" => 3.0 / 4.0,
        _ => throw new ArgumentException($"Unsupported nonlinearity {nonlinearity}", nameof(nonlinearity)),
    };

    /// <summary>
    /// (fan_in, fan_out) of a weight of at least 2 dims: size(1) × receptive field and size(0) × receptive field,
    /// the receptive field being the product of the dims after the first two (PyTorch's <c>_calculate_fan_in_and_fan_out</c>).
    /// </summary>
    /// <param name="tensor">The weight.</param>
    public static (long FanIn, long FanOut) CalculateFanInAndFanOut(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Dim < 2)
            throw new ArgumentException($"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape {Shapes.Format(tensor.Shape)})", nameof(tensor));
        long receptiveField = 1;
        for (int i = 2; i < tensor.Dim; i++) receptiveField *= tensor.Shape[i];
        return (tensor.Shape[1] * receptiveField, tensor.Shape[0] * receptiveField);
    }

    /// <summary>
    /// He initialisation, uniform: U(-bound, bound) with bound = gain × √(3 / fan), gain = <see cref="CalculateGain"/>
    /// of <paramref name="nonlinearity"/> with slope <paramref name="a"/>. With a = √5 (nn.Linear and nn.Conv2d's
    /// default) the bound is 1/√fan_in.
    /// </summary>
    /// <param name="tensor">A weight of at least 2 dims.</param>
    /// <param name="a">The negative slope of the rectifier that follows (for "leaky_relu").</param>
    /// <param name="mode">Which fan to preserve.</param>
    /// <param name="nonlinearity">"leaky_relu" (the default) or "relu" and the other names of <see cref="CalculateGain"/>.</param>
    /// <param name="generator">The random source (default: <see cref="Generator.Default"/>).</param>
    public static Tensor KaimingUniform_(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        double std = KaimingStd(tensor, a, mode, nonlinearity);
        double bound = Math.Sqrt(3.0) * std;
        return Uniform_(tensor, -bound, bound, generator);
    }

    /// <summary>He initialisation, normal: N(0, std²) with std = gain / √fan.</summary>
    /// <param name="tensor">A weight of at least 2 dims.</param>
    /// <param name="a">The negative slope of the rectifier that follows (for "leaky_relu").</param>
    /// <param name="mode">Which fan to preserve.</param>
    /// <param name="nonlinearity">"leaky_relu" (the default) or "relu" and the other names of <see cref="CalculateGain"/>.</param>
    /// <param name="generator">The random source (default: <see cref="Generator.Default"/>).</param>
    public static Tensor KaimingNormal_(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Generator? generator = null)
        => Normal_(tensor, 0.0, KaimingStd(tensor, a, mode, nonlinearity), generator);

    private static double KaimingStd(Tensor tensor, double a, FanMode mode, string nonlinearity)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        long fan = mode == FanMode.FanIn ? fanIn : fanOut;
        if (fan == 0) throw new ArgumentException($"Initializing zero-element tensors is a no-op (shape {Shapes.Format(tensor.Shape)})", nameof(tensor));
        return CalculateGain(nonlinearity, a) / Math.Sqrt(fan);
    }

    /// <summary>Glorot initialisation, uniform: U(-b, b) with b = gain × √(6 / (fan_in + fan_out)).</summary>
    /// <param name="tensor">A weight of at least 2 dims.</param>
    /// <param name="gain">The scaling factor.</param>
    /// <param name="generator">The random source (default: <see cref="Generator.Default"/>).</param>
    public static Tensor XavierUniform_(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return Uniform_(tensor, -bound, bound, generator);
    }

    /// <summary>Glorot initialisation, normal: N(0, std²) with std = gain × √(2 / (fan_in + fan_out)).</summary>
    /// <param name="tensor">A weight of at least 2 dims.</param>
    /// <param name="gain">The scaling factor.</param>
    /// <param name="generator">The random source (default: <see cref="Generator.Default"/>).</param>
    public static Tensor XavierNormal_(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        return Normal_(tensor, 0.0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)), generator);
    }

    /// <summary>Writes one sample per element, in row-major order, into the tensor's storage.</summary>
    private static Tensor Fill(Tensor tensor, string op, Func<double> sample)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        tensor.RequireFloat(op);
        var values = new double[tensor.NumElements];
        for (int i = 0; i < values.Length; i++) values[i] = sample();
        using (GradMode.NoGrad())
        {
            var source = Tensor.FromSpan<double>(values, tensor.ShapeArray);
            Kernels.CopyInto(source, tensor); // converts to the tensor's dtype, follows its strides
            source.Dispose();
        }
        tensor.BumpVersion();
        return tensor;
    }
}
