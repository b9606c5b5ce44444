using NativeGrad.Autograd;
using NativeGrad.Ops;

namespace NativeGrad.NN;

public static partial class Functional
{
    /// <summary>Runs the row-wise softmax kernel over <paramref name="dim"/> by moving that dim last (a view) when needed.</summary>
    private static Tensor SoftmaxKernel(Tensor x, int dim, bool log)
    {
        if (x.Dim == 0 || dim == x.Dim - 1) return Kernels.Softmax(x, log);
        var moved = Views.PermuteView(x, SwapLast(x.Dim, dim));
        var y = Kernels.Softmax(moved, log);
        return Kernels.Contiguous(Views.PermuteView(y, SwapLast(x.Dim, dim)));
    }

    private static int[] SwapLast(int rank, int dim)
    {
        var perm = new int[rank];
        for (int i = 0; i < rank; i++) perm[i] = i;
        (perm[dim], perm[rank - 1]) = (perm[rank - 1], perm[dim]);
        return perm;
    }

    /// <summary>exp(x) / sum(exp(x)) over <paramref name="dim"/>, computed stably.</summary>
    public static Tensor Softmax(Tensor input, long dim)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.RequireFloat("softmax");
        int d = Shapes.WrapDim(dim, input.Dim, "softmax");
        var result = SoftmaxKernel(input, d, log: false);
        if (!Graph.IsRecording(input)) return result;
        return Graph.Record("SoftmaxBackward0", result, [input], [result], d, static (c, g) =>
        {
            var y = c.Saved(0);
            int d = (int)c.Scalar, rank = c.InputShape(0).Length;
            // First-order backward: one fused pass. Building a graph (create_graph) needs the differentiable formula.
            if (!GradMode.IsEnabled && d == rank - 1 && g.DType == y.DType) return [Kernels.SoftmaxBackward(y, g, log: false)];
            var gy = g * y;
            return [gy - y * (rank == 0 ? gy : gy.Sum([d], keepDim: true))];
        });
    }

    /// <summary>log(softmax(x)) over <paramref name="dim"/>, computed stably (x - logsumexp(x)).</summary>
    public static Tensor LogSoftmax(Tensor input, long dim)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.RequireFloat("log_softmax");
        int d = Shapes.WrapDim(dim, input.Dim, "log_softmax");
        var result = SoftmaxKernel(input, d, log: true);
        if (!Graph.IsRecording(input)) return result;
        return Graph.Record("LogSoftmaxBackward0", result, [input], [result], d, static (c, g) =>
        {
            var y = c.Saved(0);
            int d = (int)c.Scalar, rank = c.InputShape(0).Length;
            if (!GradMode.IsEnabled && d == rank - 1 && g.DType == y.DType) return [Kernels.SoftmaxBackward(y, g, log: true)];
            return [g - y.Exp() * (rank == 0 ? g : g.Sum([d], keepDim: true))];
        });
    }
}

