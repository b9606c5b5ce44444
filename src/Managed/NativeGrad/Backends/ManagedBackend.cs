using System.Runtime.Intrinsics;
using System.Numerics;
using System.Numerics.Tensors;

namespace NativeGrad.Backends;

/// <summary>
/// The portable backend: the same kernels as the C core, in C#. Used where no native binary exists and as the
/// reference the native kernels are checked and benchmarked against. Contiguous hot paths use
/// <see cref="TensorPrimitives"/> (vectorised by the runtime); the rest are generic loops over float and double.
/// </summary>
internal sealed unsafe class ManagedBackend : IBackend
{
    public static readonly ManagedBackend Instance = new();

    public string Name => "managed";

    public string KernelPath => Vector512.IsHardwareAccelerated ? "managed-vector512" : Vector256.IsHardwareAccelerated ? "managed-vector256" : "managed-scalar";

    public void Unary(DType dtype, UnaryOp op, long n, void* x, void* y, double alpha, double beta)
    {
        if (dtype == DType.Float32) ManagedUnary.Run(op, new ReadOnlySpan<float>(x, checked((int)n)), new Span<float>(y, (int)n), alpha, beta);
        else ManagedUnary.Run(op, new ReadOnlySpan<double>(x, checked((int)n)), new Span<double>(y, (int)n), alpha, beta);
    }

    public void Binary(DType dtype, BinaryOp op, ReadOnlySpan<long> shape, void* a, ReadOnlySpan<long> aStrides, void* b, ReadOnlySpan<long> bStrides, void* output)
    {
        if (dtype == DType.Float32) ManagedBinary.Run(op, shape, (float*)a, aStrides, (float*)b, bStrides, (float*)output);
        else ManagedBinary.Run(op, shape, (double*)a, aStrides, (double*)b, bStrides, (double*)output);
    }

    public void CopyStrided(DType dtype, ReadOnlySpan<long> shape, void* src, ReadOnlySpan<long> srcStrides, void* dst, ReadOnlySpan<long> dstStrides)
    {
        if (dtype == DType.Float32) StridedLoop.Copy(shape, (float*)src, srcStrides, (float*)dst, dstStrides);
        else StridedLoop.Copy(shape, (long*)src, srcStrides, (long*)dst, dstStrides); // float64 and int64 move as 8-byte words
    }

    public void Fill(DType dtype, long n, void* dst, double value)
    {
        switch (dtype)
        {
            case DType.Float32: new Span<float>(dst, checked((int)n)).Fill((float)value); break;
            case DType.Float64: new Span<double>(dst, checked((int)n)).Fill(value); break;
            default: new Span<long>(dst, checked((int)n)).Fill((long)value); break;
        }
    }

    public void Reduce(DType dtype, ReduceOp op, long outer, long n, long inner, void* x, void* y)
    {
        if (dtype == DType.Float32) ManagedReduce.Run(op, outer, n, inner, (float*)x, (float*)y);
        else ManagedReduce.Run(op, outer, n, inner, (double*)x, (double*)y);
    }

    public void Softmax(DType dtype, bool log, long rows, long cols, void* x, void* y)
    {
        if (dtype == DType.Float32) ManagedSoftmax.Run(log, rows, cols, (float*)x, (float*)y);
        else ManagedSoftmax.Run(log, rows, cols, (double*)x, (double*)y);
    }

    public void SoftmaxBackward(DType dtype, bool log, long rows, long cols, void* y, void* g, void* dx)
    {
        if (dtype == DType.Float32) ManagedSoftmax.Backward(log, rows, cols, (float*)y, (float*)g, (float*)dx);
        else ManagedSoftmax.Backward(log, rows, cols, (double*)y, (double*)g, (double*)dx);
    }

    public void Gemm(DType dtype, bool transA, bool transB, long m, long n, long k, double alpha, void* a, long lda, long strideA,
                     void* b, long ldb, long strideB, double beta, void* c, long ldc, long strideC, long batch)
    {
        if (dtype == DType.Float32)
            ManagedGemm.Run(transA, transB, m, n, k, (float)alpha, (float*)a, lda, strideA, (float*)b, ldb, strideB, (float)beta, (float*)c, ldc, strideC, batch);
        else
            ManagedGemm.Run(transA, transB, m, n, k, alpha, (double*)a, lda, strideA, (double*)b, ldb, strideB, beta, (double*)c, ldc, strideC, batch);
    }

    public void IndexSelect(DType dtype, long outer, long dim, long inner, void* x, long* idx, long nidx, void* y)
    {
        if (dtype == DType.Float32) ManagedIndexing.IndexSelect(outer, dim, inner, (float*)x, idx, nidx, (float*)y);
        else ManagedIndexing.IndexSelect(outer, dim, inner, (long*)x, idx, nidx, (long*)y);
    }

    public void IndexAdd(DType dtype, long outer, long dim, long inner, void* x, long* idx, long nidx, void* y)
    {
        if (dtype == DType.Float32) ManagedIndexing.IndexAdd(outer, dim, inner, (float*)x, idx, nidx, (float*)y);
        else ManagedIndexing.IndexAdd(outer, dim, inner, (double*)x, idx, nidx, (double*)y);
    }

    public void Gather(DType dtype, long outer, long dim, long inner, void* x, long* idx, void* y)
    {
        if (dtype == DType.Float32) ManagedIndexing.Gather(outer, dim, inner, (float*)x, idx, (float*)y);
        else ManagedIndexing.Gather(outer, dim, inner, (double*)x, idx, (double*)y);
    }

    public void ScatterAdd(DType dtype, long outer, long dim, long inner, void* x, long* idx, void* y)
    {
        if (dtype == DType.Float32) ManagedIndexing.ScatterAdd(outer, dim, inner, (float*)x, idx, (float*)y);
        else ManagedIndexing.ScatterAdd(outer, dim, inner, (double*)x, idx, (double*)y);
    }

    public void Im2Col(DType dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, void* x, void* cols)
    {
        if (dtype == DType.Float32) ManagedConvolution.Im2Col(n, c, h, w, kh, kw, sh, sw, ph, pw, (float*)x, (float*)cols);
        else ManagedConvolution.Im2Col(n, c, h, w, kh, kw, sh, sw, ph, pw, (double*)x, (double*)cols);
    }

    public void Col2Im(DType dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, void* cols, void* x)
    {
        if (dtype == DType.Float32) ManagedConvolution.Col2Im(n, c, h, w, kh, kw, sh, sw, ph, pw, (float*)cols, (float*)x);
        else ManagedConvolution.Col2Im(n, c, h, w, kh, kw, sh, sw, ph, pw, (double*)cols, (double*)x);
    }

    public void MaxPool2d(DType dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, void* x, void* y, long* idx)
    {
        if (dtype == DType.Float32) ManagedConvolution.MaxPool2d(n, c, h, w, kh, kw, sh, sw, (float*)x, (float*)y, idx);
        else ManagedConvolution.MaxPool2d(n, c, h, w, kh, kw, sh, sw, (double*)x, (double*)y, idx);
    }
}
