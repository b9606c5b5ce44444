namespace NativeGrad.Backends;

/// <summary>
/// The one seam between the autograd layer and the kernels (in the spirit of candle's BackendStorage). Native and
/// managed backends implement it completely and identically; argument meanings follow native/include/nativegrad.h.
/// All pointers address pinned pooled memory; shapes and strides are in elements. Callers validate everything
/// before calling (the backends may assume valid, in-range arguments except index values, which they check).
/// </summary>
internal unsafe interface IBackend
{
    /// <summary>"native" or "managed".</summary>
    string Name { get; }

    /// <summary>The SIMD path the kernels take: "avx512", "avx2", "scalar" (native) or the managed vector width.</summary>
    string KernelPath { get; }

    void Unary(DType dtype, UnaryOp op, long n, void* x, void* y, double alpha, double beta);

    void Binary(DType dtype, BinaryOp op, ReadOnlySpan<long> shape, void* a, ReadOnlySpan<long> aStrides, void* b, ReadOnlySpan<long> bStrides, void* output);

    void CopyStrided(DType dtype, ReadOnlySpan<long> shape, void* src, ReadOnlySpan<long> srcStrides, void* dst, ReadOnlySpan<long> dstStrides);

    void Fill(DType dtype, long n, void* dst, double value);

    void Reduce(DType dtype, ReduceOp op, long outer, long n, long inner, void* x, void* y);

    void Softmax(DType dtype, bool log, long rows, long cols, void* x, void* y);

    void SoftmaxBackward(DType dtype, bool log, long rows, long cols, void* y, void* g, void* dx);

    void Gemm(DType dtype, bool transA, bool transB, long m, long n, long k, double alpha,
              void* a, long lda, long strideA, void* b, long ldb, long strideB,
              double beta, void* c, long ldc, long strideC, long batch);

    void IndexSelect(DType dtype, long outer, long dim, long inner, void* x, long* idx, long nidx, void* y);

    void IndexAdd(DType dtype, long outer, long dim, long inner, void* x, long* idx, long nidx, void* y);

    void Gather(DType dtype, long outer, long dim, long inner, void* x, long* idx, void* y);

    void ScatterAdd(DType dtype, long outer, long dim, long inner, void* x, long* idx, void* y);

    void Im2Col(DType dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, void* x, void* cols);

    void Col2Im(DType dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, long ph, long pw, void* cols, void* x);

    void MaxPool2d(DType dtype, long n, long c, long h, long w, long kh, long kw, long sh, long sw, void* x, void* y, long* idx);
}
