using NativeGrad.Autograd;
using NativeGrad.Backends;
using NativeGrad.Ops;

namespace NativeGrad;

// Reductions. Forward values come from accurate kernels (pairwise/wide accumulation); backward formulas broadcast
// the incoming gradient back over the reduced dims with differentiable ops.
public sealed partial class Tensor
{
    /// <summary>Sorted, distinct, wrapped dims; null or empty means every dim.</summary>
    internal int[] ReductionDims(long[]? dims, string op)
    {
        if (dims is null || dims.Length == 0)
        {
            var all = new int[Dim];
            for (int i = 0; i < all.Length; i++) all[i] = i;
            return all;
        }
        var wrapped = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            int w = Shapes.WrapDim(dims[i], Dim, op);
            // insertion into the sorted prefix (a handful of dims)
            int j = i - 1;
            while (j >= 0 && wrapped[j] > w) { wrapped[j + 1] = wrapped[j]; j--; }
            if (j >= 0 && wrapped[j] == w) throw new ArgumentException($"{op}: dim {dims[i]} appears multiple times in the list of dims");
            wrapped[j + 1] = w;
        }
        if (Dim == 0) return [];
        return wrapped;
    }

    /// <summary>Re-inserts the reduced dims (as size 1) into a gradient of a reduction without keepdim.</summary>
    internal static Tensor UnsqueezeReduced(Tensor g, int[] dims, bool keepDim)
    {
        if (keepDim) return g;
        foreach (int d in dims) g = g.Unsqueeze(d);
        return g;
    }

    private long CountOver(int[] dims)
    {
        long n = 1;
        foreach (int d in dims) n *= ShapeArray[d];
        return n;
    }

    /// <summary>The sum of all elements (a scalar tensor).</summary>
    public Tensor Sum()
    {
        RequireFloat("sum");
        var result = Kernels.ReduceAll(this, ReduceOp.Sum);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("SumBackward0", result, [this], [], static (c, g) => [g.Expand(c.InputShape(0))]);
    }

    /// <summary>The sum over <paramref name="dims"/> (negative dims count from the end).</summary>
    public Tensor Sum(long[] dims, bool keepDim = false)
    {
        RequireFloat("sum");
        var reduced = ReductionDims(dims, "sum");
        var result = Kernels.Reduce(this, ReduceOp.Sum, reduced, keepDim);
        if (!Graph.IsRecording(this)) return result;
        return RecordSum("SumBackward1", result, reduced, keepDim, 1);
    }

    /// <summary>The sum over one dim.</summary>
    public Tensor Sum(long dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>The mean of all elements.</summary>
    public Tensor Mean()
    {
        RequireFloat("mean");
        long n = NumElements;
        var result = Kernels.ReduceAll(this, ReduceOp.Sum);
        Kernels.ScaleInPlace(result, 1.0 / n); // the sum is ours alone: scaled where it is
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("MeanBackward0", result, [this], [], n, static (c, g) => [g.Expand(c.InputShape(0)) / c.Scalar]);
    }

    /// <summary>The mean over <paramref name="dims"/>.</summary>
    public Tensor Mean(long[] dims, bool keepDim = false)
    {
        RequireFloat("mean");
        var reduced = ReductionDims(dims, "mean");
        long n = CountOver(reduced);
        var result = Kernels.Reduce(this, ReduceOp.Sum, reduced, keepDim);
        Kernels.ScaleInPlace(result, 1.0 / n);
        if (!Graph.IsRecording(this)) return result;
        return RecordSum("MeanBackward1", result, reduced, keepDim, n);
    }

    /// <summary>Records a sum (count 1) or mean over <paramref name="reduced"/>; a method of its own so that the op's no-grad path allocates no closure.</summary>
    private Tensor RecordSum(string name, Tensor result, int[] reduced, bool keepDim, long count)
        => Graph.Record(name, result, [this], [], count, (c, g) =>
        {
            var spread = UnsqueezeReduced(g, reduced, keepDim).Expand(c.InputShape(0));
            return [c.Scalar == 1 ? spread : spread / c.Scalar];
        });

    /// <summary>The mean over one dim.</summary>
    public Tensor Mean(long dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>The maximum over <paramref name="dims"/> (all dims when null); ties share the gradient evenly.</summary>
    public Tensor Amax(long[]? dims = null, bool keepDim = false)
    {
        RequireFloat("amax");
        var reduced = ReductionDims(dims, "amax");
        foreach (int d in reduced)
            if (ShapeArray[d] == 0) throw new ArgumentException($"amax: Expected reduction dim {d} to have non-zero size (input shape {Shapes.Format(Shape)})");
        var result = Kernels.Reduce(this, ReduceOp.Max, reduced, keepDim);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("AmaxBackward0", result, [this], [this, result], (c, g) =>
        {
            var x = c.Saved(0);
            var max = UnsqueezeReduced(c.Saved(1), reduced, keepDim);
            var mask = Kernels.Binary(x, max, Backends.BinaryOp.Eq, "amax");
            var count = Kernels.Reduce(mask, ReduceOp.Sum, reduced, true);
            return [UnsqueezeReduced(g, reduced, keepDim) * Kernels.Binary(mask, count, Backends.BinaryOp.Div, "amax")];
        });
    }

    /// <summary>The product of all elements.</summary>
    public Tensor Prod()
    {
        RequireFloat("prod");
        var all = ReductionDims(null, "prod");
        var result = Kernels.Reduce(this, ReduceOp.Prod, all, false);
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("ProdBackward0", result, [this], [this], (c, g) => [g * ProductOfOthers(c.Saved(0).Reshape([-1]), 0).Reshape(c.Saved(0).ShapeArray)]);
    }

    /// <summary>The product over one dim.</summary>
    public Tensor Prod(long dim, bool keepDim = false)
    {
        RequireFloat("prod");
        var reduced = ReductionDims([dim], "prod");
        var result = Kernels.Reduce(this, ReduceOp.Prod, reduced, keepDim);
        if (!Graph.IsRecording(this)) return result;
        int d = reduced.Length == 0 ? 0 : reduced[0];
        return Graph.Record("ProdBackward1", result, [this], [this], (c, g) =>
        {
            var x = c.Saved(0);
            if (x.Dim == 0) return [g];
            return [UnsqueezeReduced(g, reduced, keepDim) * ProductOfOthers(x, d)];
        });
    }

    /// <summary>
    /// For each element along <paramref name="dim"/>, the product of the other elements on its line: exact with zeros
    /// and differentiable (a product of narrowed slices), which is what prod's gradient needs.
    /// </summary>
    private static Tensor ProductOfOthers(Tensor x, int dim)
    {
        long n = x.ShapeArray[dim];
        var parts = new Tensor[n];
        for (long i = 0; i < n; i++)
        {
            Tensor? p = null;
            if (i > 0) p = x.Narrow(dim, 0, i).ProdKeep(dim);
            if (i < n - 1)
            {
                var right = x.Narrow(dim, i + 1, n - i - 1).ProdKeep(dim);
                p = p is null ? right : p * right;
            }
            parts[i] = p ?? Tensor.OnesLike(x.Narrow(dim, 0, 1));
        }
        return Tensor.Cat(parts, dim);
    }

    private Tensor ProdKeep(int dim)
    {
        // A differentiable product along one dim that keeps it, built from the recorded Prod.
        return Prod(dim, keepDim: true);
    }

    /// <summary>The variance over <paramref name="dims"/> (all when null) with Bessel's <paramref name="correction"/>.</summary>
    public Tensor Var(long[]? dims = null, double correction = 1.0, bool keepDim = false)
    {
        RequireFloat("var");
        var reduced = ReductionDims(dims, "var");
        long n = CountOver(reduced);
        Tensor result;
        using (GradMode.NoGrad())
        {
            var centered = this - Mean(ToLongs(reduced), keepDim: true);
            result = (centered * centered).Sum(ToLongs(reduced), keepDim) / Math.Max(n - correction, 0.0);
        }
        if (!Graph.IsRecording(this)) return result;
        var shape = ShapeArray;
        return Graph.Record("VarBackward0", result, [this], [this], (c, g) =>
        {
            var x = c.Saved(0);
            var centered = x - x.Mean(ToLongs(reduced), keepDim: true);
            return [UnsqueezeReduced(g, reduced, keepDim) * centered * (2.0 / Math.Max(n - correction, 0.0))];
        });
    }

    /// <summary>The standard deviation over <paramref name="dims"/> (all when null) with Bessel's <paramref name="correction"/>.</summary>
    public Tensor Std(long[]? dims = null, double correction = 1.0, bool keepDim = false)
    {
        RequireFloat("std");
        var reduced = ReductionDims(dims, "std");
        long n = CountOver(reduced);
        Tensor result;
        using (GradMode.NoGrad()) result = Var(dims, correction, keepDim).Sqrt();
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("StdBackward0", result, [this], [this, result], (c, g) =>
        {
            var x = c.Saved(0);
            var centered = x - x.Mean(ToLongs(reduced), keepDim: true);
            var std = UnsqueezeReduced(c.Saved(1), reduced, keepDim);
            return [UnsqueezeReduced(g, reduced, keepDim) * centered / (std * Math.Max(n - correction, 0.0))];
        });
    }

    /// <summary>log(sum(exp(x))) over <paramref name="dim"/>, computed stably (no overflow for inputs of ±1000).</summary>
    public Tensor LogSumExp(long dim, bool keepDim = false) => LogSumExp([dim], keepDim);

    /// <summary>log(sum(exp(x))) over <paramref name="dims"/>, computed stably.</summary>
    public Tensor LogSumExp(long[] dims, bool keepDim = false)
    {
        RequireFloat("logsumexp");
        var reduced = ReductionDims(dims, "logsumexp");
        Tensor result;
        using (GradMode.NoGrad())
        {
            if (NumElements == 0)
            {
                result = Kernels.Unary(Kernels.Reduce(this, ReduceOp.Sum, reduced, keepDim), Backends.UnaryOp.Log);
            }
            else
            {
                var max = Kernels.Reduce(this, ReduceOp.Max, reduced, true);
                // Clamping keeps an all -inf (or +inf) row's max out of the exponent, so it gives -inf (+inf), not NaN.
                double big = DType == DType.Float32 ? float.MaxValue : double.MaxValue;
                var finiteMax = Kernels.Unary(max, Backends.UnaryOp.Clamp, -big, big);
                var shifted = (this - finiteMax).Exp().Sum(ToLongs(reduced), keepDim: true).Log() + finiteMax;
                result = keepDim ? shifted : Kernels.Contiguous(SqueezeDims(shifted, reduced));
            }
        }
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("LogsumexpBackward0", result, [this], [this, result], (c, g) =>
        {
            var x = c.Saved(0);
            return [UnsqueezeReduced(g, reduced, keepDim) * (x - UnsqueezeReduced(c.Saved(1), reduced, keepDim)).Exp()];
        });
    }

    private static Tensor SqueezeDims(Tensor t, int[] dims)
    {
        for (int i = dims.Length - 1; i >= 0; i--) t = t.Squeeze(dims[i]);
        return t;
    }

    /// <summary>The vector p-norm over <paramref name="dims"/> (all when null), PyTorch's <c>torch.linalg.vector_norm</c>.</summary>
    public Tensor Norm(double p = 2.0, long[]? dims = null, bool keepDim = false)
    {
        RequireFloat("norm");
        var reduced = ReductionDims(dims, "norm");
        var dimList = ToLongs(reduced);
        Tensor result;
        using (GradMode.NoGrad())
        {
            var abs = Abs();
            if (double.IsPositiveInfinity(p)) result = abs.Amax(dimList, keepDim);
            else if (p == 1.0) result = abs.Sum(dimList, keepDim);
            else if (p == 2.0) result = (abs * abs).Sum(dimList, keepDim).Sqrt();
            else if (p == 0.0) result = Kernels.Reduce(Kernels.BinaryScalar(abs, 0, Backends.BinaryOp.Gt), ReduceOp.Sum, reduced, keepDim);
            else result = abs.Pow(p).Sum(dimList, keepDim).Pow(1.0 / p);
        }
        if (!Graph.IsRecording(this)) return result;
        return Graph.Record("LinalgVectorNormBackward0", result, [this], [this, result], (c, g) =>
        {
            var x = c.Saved(0);
            var norm = UnsqueezeReduced(c.Saved(1), reduced, keepDim);
            var gu = UnsqueezeReduced(g, reduced, keepDim);
            if (p == 0.0) return [x * 0.0];
            if (p == 1.0) return [gu * Kernels.Unary(x, Backends.UnaryOp.Sign)];
            if (double.IsPositiveInfinity(p))
            {
                var mask = Kernels.Binary(Kernels.Unary(x, Backends.UnaryOp.Abs), norm, Backends.BinaryOp.Eq, "norm");
                var count = Kernels.Reduce(mask, ReduceOp.Sum, reduced, true);
                return [gu * Kernels.Unary(x, Backends.UnaryOp.Sign) * Kernels.Binary(mask, count, Backends.BinaryOp.Div, "norm")];
            }
            // Where the norm is 0 the gradient is 0 (PyTorch masks the division).
            var zero = Kernels.BinaryScalar(norm, 0, Backends.BinaryOp.Eq);
            var safeNorm = norm + zero;
            if (p == 2.0) return [gu * x / safeNorm * (1.0 - zero)];
            var scale = x * x.Abs().Pow(p - 2.0) / safeNorm.Pow(p - 1.0);
            return [gu * scale * (1.0 - zero)];
        });
    }

    internal static long[] ToLongs(int[] dims)
    {
        var result = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++) result[i] = dims[i];
        return result;
    }
}
