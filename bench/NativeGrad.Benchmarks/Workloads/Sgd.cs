using NativeGrad.Backends;

namespace NativeGrad.Benchmarks.Workloads;

/// <summary>
/// Plain SGD, p -= lr * grad, in place on the current backend's kernels without recording a graph (NativeGrad has
/// no public in-place ops yet). Two passes (scale into a preallocated scratch, then add in place); libtorch's
/// optimizer does it in one fused add_(grad, alpha = -lr).
/// </summary>
public static class Sgd
{
    /// <summary>Updates <paramref name="p"/> with <paramref name="grad"/>; <paramref name="scratch"/> has p's shape.</summary>
    public static unsafe void Update(Tensor p, Tensor grad, Tensor scratch, double lr)
    {
        if (!p.IsContiguous || !grad.IsContiguous || !scratch.IsContiguous || p.DType != grad.DType)
            throw new InvalidOperationException("Sgd.Update expects contiguous parameters and gradients of one dtype.");
        var backend = Runtime.Current;
        backend.Unary(p.DType, UnaryOp.Affine, p.NumElements, grad.DataPointer, scratch.DataPointer, -lr, 0.0);
        backend.Binary(p.DType, BinaryOp.Add, p.ShapeArray, p.DataPointer, p.StridesArray, scratch.DataPointer, scratch.StridesArray, p.DataPointer);
        p.Storage.Version++;
    }
}
