using NativeGrad.NN;
using Xunit;

namespace NativeGrad.Tests;

/// <summary>Functional.Linear with a bias is PyTorch's addmm: the bias written into the result, the GEMM adding the product.</summary>
public class LinearTests
{
    public static TheoryData<BackendKind, long, long, long, long[]> Shapes()
    {
        var data = new TheoryData<BackendKind, long, long, long, long[]>();
        foreach (var b in new[] { BackendKind.Native, BackendKind.Managed })
        {
            data.Add(b, 1, 5, 3, [3]);        // W1's shape (a tiny product)
            data.Add(b, 128, 784, 512, [512]); // W5's first layer: k spans several k blocks
            data.Add(b, 7, 300, 9, [1]);      // a broadcast one-element bias
            data.Add(b, 33, 17, 65, []);      // a 0-d bias
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EqualsTheProductPlusTheBias(BackendKind backend, long m, long k, long n, long[] biasShape)
    {
        using var _ = Backends.Use(backend);
        var gen = new Generator(21);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.Randn([m, k], dtype, gen);
            var w = Tensor.Randn([n, k], dtype, gen);
            var bias = Tensor.Randn(biasShape, dtype, gen);
            var fused = Functional.Linear(x, w, bias);
            var composed = x.Mm(w.T) + bias;
            Assert.Equal(new[] { m, n }, fused.Shape.ToArray());
            // The same sums, possibly rounded in another order (the bias may join the first k block's partial sums,
            // as in BLAS addmm): within a few ulps of the magnitudes summed.
            var scale = (x.Abs().Mm(w.Abs().T) + bias.Abs()).ToDoubleArray();
            var f = fused.ToDoubleArray();
            var c = composed.ToDoubleArray();
            double eps = dtype == DType.Float32 ? 1e-6 : 1e-15;
            for (int i = 0; i < f.Length; i++)
                Assert.True(Math.Abs(f[i] - c[i]) <= eps * scale[i], $"element {i}: {f[i]} vs {c[i]} (scale {scale[i]})");
        }
    }

    [Fact]
    public void GradientsAndNodeAsPyTorchs()
    {
        var gen = new Generator(22);
        var x = Tensor.Randn([4, 3], DType.Float64, gen, requiresGrad: true);
        var w = Tensor.Randn([2, 3], DType.Float64, gen, requiresGrad: true);
        var b = Tensor.Randn([2], DType.Float64, gen, requiresGrad: true);
        var y = Functional.Linear(x, w, b);
        Assert.Equal("AddmmBackward0", y.GradFn!.Name);
        Assert.True(Autograd.GradCheck.Check(t => Functional.Linear(t[0], t[1], t[2]), [x, w, b]));
    }
}
