using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>
/// binary_cross_entropy_with_logits over float32 tensors long enough for the vector kernels (and their tails): the
/// loss and its gradient against a double reference, including confident predictions whose loss is tiny.
/// </summary>
public class BceWithLogitsTests
{
    private const int N = 4099; // vector bodies of 8 and 16 lanes plus a tail

    private static (float[] X, float[] Y) Data()
    {
        var rng = new Random(7);
        var x = new float[N];
        var y = new float[N];
        for (int i = 0; i < N; i++)
        {
            double u = (double)i / (N - 1) * 2 - 1;
            x[i] = (float)(u * u * u * 60); // -60 .. 60, dense near 0
            y[i] = (i % 5) switch { 0 => 0f, 1 => 1f, _ => (float)rng.NextDouble() };
        }
        return (x, y);
    }

    private static double Loss(double x, double y) => (x >= 0 ? (1 - y) * x : -(y * x)) + Log1p(Math.Exp(-Math.Abs(x)));

    /// <summary>log(1 + t) for t in [0, 1], accurate for tiny t (a series below 1e-4).</summary>
    private static double Log1p(double t) => t < 1e-4 ? t - t * t / 2 + t * t * t / 3 : Math.Log(1 + t);

    private static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void ElementLossesAreWithinAFewUlpOfDouble(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var (xs, ys) = Data();
        var x = Tensor.FromArray(xs);
        var y = Tensor.FromArray(ys);
        float[] loss = Functional.BinaryCrossEntropyWithLogits(x, y, reduction: Reduction.None).ToArray<float>();
        for (int i = 0; i < N; i++)
        {
            double want = Loss(xs[i], ys[i]);
            // 4 ulp of the result: a confident right prediction (x = -60, y = 0) has a loss of 8.8e-27, kept to float precision
            Assert.True(Math.Abs(loss[i] - want) <= 4 * 1.2e-7 * want + 1e-45, $"x = {xs[i]}, y = {ys[i]}: {loss[i]} vs {want}");
        }
    }

    [Theory]
    [MemberData(nameof(Backends.Both), MemberType = typeof(Backends))]
    public void MeanLossAndGradientMatchDouble(BackendKind backend)
    {
        using var _ = Backends.Use(backend);
        var (xs, ys) = Data();
        var x = Tensor.FromArray(xs).RequiresGrad_();
        var y = Tensor.FromArray(ys);
        var loss = Functional.BinaryCrossEntropyWithLogits(x, y);
        double want = Enumerable.Range(0, N).Sum(i => Loss(xs[i], ys[i])) / N;
        Assert.Equal(want, loss.Item(), 5e-6 * want);
        loss.Backward();
        float[] grad = x.Grad!.ToArray<float>();
        for (int i = 0; i < N; i++)
        {
            double g = (Sigmoid(xs[i]) - ys[i]) / N;
            // 2 ulp of sigmoid(x) / N or of the gradient itself, whichever is larger (sigmoid(x) - y can cancel)
            double scale = Math.Max(Sigmoid(xs[i]) / N, Math.Abs(g));
            Assert.True(Math.Abs(grad[i] - g) <= 3 * 1.2e-7 * scale + 1e-45, $"x = {xs[i]}, y = {ys[i]}: {grad[i]} vs {g}");
        }
    }
}
