using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad.NN;

public static partial class Functional
{
    /// <summary>x Wᵀ + b for input [..., in], weight [out, in], bias [out].</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Dim != 2 || input.Dim == 0 || input.Shape[^1] != weight.Shape[1])
            throw new ArgumentException($"linear: shapes {Shapes.Format(input.Shape)} and {Shapes.Format(weight.Shape)}ᵀ cannot be multiplied");
        if (bias is not null && !ShapeOps.IsExpandableTo(bias.Shape, [weight.Shape[0]]))
            throw new ArgumentException($"linear: bias of shape {Shapes.Format(bias.Shape)} does not match {weight.Shape[0]} output features");
        if (input.Dim == 2 && bias is not null)
        {
            // PyTorch's addmm: one node for the product and the bias.
            Tensor? result = null;
            using (GradMode.NoGrad())
            {
                if (input.DType == weight.DType && bias.DType == input.DType && input.DType.IsFloatingPoint())
                    result = Kernels.AddMm(bias, input, weight.T); // the bias written first, the product added by the GEMM
                result ??= input.Mm(weight.T) + bias;
            }
            if (!Graph.IsRecording(input, weight, bias)) return result;
            return Graph.Record("AddmmBackward0", result, [bias, input, weight], [input, weight], static (c, g) =>
                [c.NeedsInputGrad(0) ? g.SumToShape(c.InputShape(0)) : null,
                 c.NeedsInputGrad(1) ? g.Mm(c.Saved(1)) : null,
                 c.NeedsInputGrad(2) ? g.T.Mm(c.Saved(0)) : null]);
        }
        var product = input.MatMul(weight.T);
        return bias is null ? product : product + bias;
    }

    /// <summary>
    /// Layer normalisation over the last dims (<paramref name="normalizedShape"/>): (x - mean) / sqrt(var + eps) * weight + bias,
    /// with the biased variance, as PyTorch's native_layer_norm.
    /// </summary>
    public static Tensor LayerNorm(Tensor input, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(normalizedShape);
        input.RequireFloat("layer_norm");
        int k = normalizedShape.Length;
        if (k == 0 || k > input.Dim || !input.Shape[^k..].SequenceEqual(normalizedShape))
            throw new ArgumentException($"layer_norm: Given normalized_shape={Shapes.Format(normalizedShape)}, expected input with shape [*, {string.Join(", ", normalizedShape)}], but got input of size {Shapes.Format(input.Shape)}");
        if (weight is not null && !weight.Shape.SequenceEqual(normalizedShape))
            throw new ArgumentException($"layer_norm: weight of shape {Shapes.Format(weight.Shape)} does not match normalized_shape {Shapes.Format(normalizedShape)}");
        if (bias is not null && !bias.Shape.SequenceEqual(normalizedShape))
            throw new ArgumentException($"layer_norm: bias of shape {Shapes.Format(bias.Shape)} does not match normalized_shape {Shapes.Format(normalizedShape)}");
        var dims = Enumerable.Range(input.Dim - k, k).Select(d => (long)d).ToArray();
        var batchDims = Enumerable.Range(0, input.Dim - k).Select(d => (long)d).ToArray();

        Tensor Normalize(Tensor x) // differentiable: used by forward (under NoGrad) and by backward
        {
            var centered = x - x.Mean(dims, keepDim: true);
            var rstd = ((centered * centered).Mean(dims, keepDim: true) + eps).Rsqrt();
            return centered * rstd;
        }

        Tensor result;
        using (GradMode.NoGrad())
        {
            result = Normalize(input);
            if (weight is not null) result = result * weight;
            if (bias is not null) result = result + bias;
        }
        if (!Graph.IsRecording(input, weight, bias)) return result;
        return Graph.Record("NativeLayerNormBackward0", result, [input, weight, bias], [input, weight ?? input], (c, g) =>
        {
            var x = c.Saved(0);
            var xHat = Normalize(x);
            Tensor? gx = null, gw = null, gb = null;
            if (c.NeedsInputGrad(0))
            {
                var centered = x - x.Mean(dims, keepDim: true);
                var rstd = ((centered * centered).Mean(dims, keepDim: true) + eps).Rsqrt();
                var gHat = weight is null ? g : g * c.Saved(1);
                gx = (gHat - gHat.Mean(dims, keepDim: true) - xHat * (gHat * xHat).Mean(dims, keepDim: true)) * rstd;
            }
            if (c.NeedsInputGrad(1)) gw = batchDims.Length == 0 ? g * xHat : (g * xHat).Sum(batchDims);
            if (c.NeedsInputGrad(2)) gb = batchDims.Length == 0 ? g : g.Sum(batchDims);
            return [gx, gw, gb];
        });
    }

    /// <summary>Looks up rows of <paramref name="weight"/> [num, dim] for int64 <paramref name="indices"/> of any shape.</summary>
    public static Tensor Embedding(Tensor indices, Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Dim != 2) throw new ArgumentException($"embedding: weight must be 2-D, got shape {Shapes.Format(weight.Shape)}");
        var idx = Tensor.CheckIndex(indices, weight.Shape[0], "embedding", "indices");
        var flat = Views.View(idx, [idx.NumElements], [1], idx.Offset);
        var rows = Kernels.IndexSelect(weight, 0, flat);
        var result = Views.View(rows, [.. indices.Shape, weight.Shape[1]], Shapes.ContiguousStrides([.. indices.Shape, weight.Shape[1]]), 0);
        if (!Graph.IsRecording(weight)) return result;
        var weightShape = weight.ShapeArray;
        return Graph.Record("EmbeddingBackward0", result, [null, weight], [], (c, g) =>
            [null, Tensor.IndexAddInto(g.Reshape(-1, weightShape[1]), 0, flat, weightShape)]);
    }

    /// <summary>2-D convolution (cross-correlation) of input [N, C, H, W] with weight [O, C, KH, KW], zero padding.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, (long H, long W)? stride = null, (long H, long W)? padding = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        var (sh, sw) = stride ?? (1, 1);
        var (ph, pw) = padding ?? (0, 0);
        if (input.Dim != 4 || weight.Dim != 4 || input.Shape[1] != weight.Shape[1])
            throw new ArgumentException($"conv2d: expected input [N, C, H, W] and weight [O, C, KH, KW] with matching C, got {Shapes.Format(input.Shape)} and {Shapes.Format(weight.Shape)}");
        if (sh < 1 || sw < 1 || ph < 0 || pw < 0) throw new ArgumentException($"conv2d: invalid stride ({sh}, {sw}) or padding ({ph}, {pw})");
        long n = input.Shape[0], c = input.Shape[1], h = input.Shape[2], w = input.Shape[3];
        long o = weight.Shape[0], kh = weight.Shape[2], kw = weight.Shape[3];
        long oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
        if (h + 2 * ph < kh || w + 2 * pw < kw)
            throw new ArgumentException($"conv2d: kernel size ({kh}x{kw}) is larger than the padded input ({h + 2 * ph}x{w + 2 * pw}); input {Shapes.Format(input.Shape)}");
        if (bias is not null && (bias.Dim != 1 || bias.Shape[0] != o))
            throw new ArgumentException($"conv2d: bias of shape {Shapes.Format(bias.Shape)} does not match {o} output channels");
        var imageShape = input.ShapeArray;

        Tensor Unfold(Tensor x) => Im2Col(x, kh, kw, sh, sw, ph, pw, oh, ow);
        Tensor result;
        using (GradMode.NoGrad())
        {
            var product = weight.Reshape(o, c * kh * kw).MatMul(Unfold(input)); // [N, O, L]
            result = product.Reshape(n, o, oh, ow);
            if (bias is not null) result = result + bias.Reshape(o, 1, 1);
            result = Kernels.Contiguous(result);
        }
        if (!Graph.IsRecording(input, weight, bias)) return result;
        return Graph.Record("ConvolutionBackward0", result, [input, weight, bias], [input, weight], (ctx, g) =>
        {
            var g3 = g.Reshape(n, o, oh * ow);
            Tensor? gx = null, gw = null, gb = null;
            if (ctx.NeedsInputGrad(0))
                gx = Col2Im(ctx.Saved(1).Reshape(o, c * kh * kw).T.MatMul(g3), imageShape, kh, kw, sh, sw, ph, pw, oh, ow);
            if (ctx.NeedsInputGrad(1))
                gw = g3.MatMul(Unfold(ctx.Saved(0)).Transpose(1, 2)).Sum([0]).Reshape(o, c, kh, kw);
            if (ctx.NeedsInputGrad(2)) gb = g.Sum([0, 2, 3]);
            return [gx, gw, gb];
        });
    }

    /// <summary>Differentiable im2col; its gradient is col2im.</summary>
    private static Tensor Im2Col(Tensor x, long kh, long kw, long sh, long sw, long ph, long pw, long oh, long ow)
    {
        var cols = Kernels.Im2Col(x, kh, kw, sh, sw, ph, pw, oh, ow);
        if (!Graph.IsRecording(x)) return cols;
        var shape = x.ShapeArray;
        return Graph.Record("Im2ColBackward0", cols, [x], [], (c, g) => [Col2Im(g, shape, kh, kw, sh, sw, ph, pw, oh, ow)]);
    }

    /// <summary>Differentiable col2im; its gradient is im2col.</summary>
    private static Tensor Col2Im(Tensor cols, long[] imageShape, long kh, long kw, long sh, long sw, long ph, long pw, long oh, long ow)
    {
        var x = Kernels.Col2Im(cols, imageShape, kh, kw, sh, sw, ph, pw);
        if (!Graph.IsRecording(cols)) return x;
        return Graph.Record("Col2ImBackward0", x, [cols], [], (c, g) => [Im2Col(g, kh, kw, sh, sw, ph, pw, oh, ow)]);
    }

    /// <summary>2-D max pooling of [N, C, H, W] without padding; <paramref name="stride"/> defaults to the kernel size.</summary>
    public static unsafe Tensor MaxPool2d(Tensor input, (long H, long W) kernelSize, (long H, long W)? stride = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.RequireFloat("max_pool2d");
        var (kh, kw) = kernelSize;
        var (sh, sw) = stride ?? kernelSize;
        if (input.Dim != 4) throw new ArgumentException($"max_pool2d: expected input [N, C, H, W], got {Shapes.Format(input.Shape)}");
        if (kh < 1 || kw < 1 || sh < 1 || sw < 1) throw new ArgumentException($"max_pool2d: kernel ({kh}, {kw}) and stride ({sh}, {sw}) must be positive");
        long n = input.Shape[0], c = input.Shape[1], h = input.Shape[2], w = input.Shape[3];
        if (h < kh || w < kw) throw new ArgumentException($"max_pool2d: kernel ({kh}x{kw}) is larger than the input ({h}x{w}); input {Shapes.Format(input.Shape)}");
        long oh = (h - kh) / sh + 1, ow = (w - kw) / sw + 1;
        var (values, local) = Kernels.MaxPool2d(input, kh, kw, sh, sw, oh, ow);
        if (!Graph.IsRecording(input)) return values;
        // Global flat positions of each window's maximum: the gradient is an index_add of g at those positions.
        var global = Kernels.ContiguousCopy(local);
        long* p = (long*)global.DataPointer;
        long plane = oh * ow;
        for (long i = 0; i < global.NumElements; i++) p[i] += (i / plane) * h * w;
        var flat = Views.View(global, [global.NumElements], [1], 0);
        var shape = input.ShapeArray;
        return Graph.Record("MaxPool2DWithIndicesBackward0", values, [input], [], (ctx, g) =>
            [Tensor.IndexAddInto(g.Reshape(-1), 0, flat, [n * c * h * w]).Reshape(shape)]);
    }
}
