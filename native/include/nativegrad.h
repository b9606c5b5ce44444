/*
 * nativegrad.h - the one public C header of libnativegrad.
 *
 * A small, versioned C ABI: only blittable arguments (integers, doubles, raw pointers), no structs by value,
 * no callbacks. Every function returns an ng_status; NG_OK is 0. On failure the library never aborts or
 * prints: it returns a non-zero status and ng_last_error() describes the problem (thread-local text).
 *
 * Conventions
 *  - dtype: NG_F32 (float) or NG_F64 (double); index arrays are always int64_t.
 *  - Sizes, shapes and strides are int64_t. Strides are counted in elements, not bytes, and may be 0
 *    (broadcast) but never negative. At most NG_MAX_DIMS dimensions.
 *  - "contiguous" means row-major with no gaps.
 *  - Output buffers never alias inputs unless a function says so.
 */
#ifndef NATIVEGRAD_H
#define NATIVEGRAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define NG_API __declspec(dllexport)
#else
#define NG_API __attribute__((visibility("default")))
#endif

#define NG_ABI_VERSION 1
#define NG_MAX_DIMS 8

typedef enum ng_status {
    NG_OK = 0,
    NG_ERR_INVALID_ARGUMENT = 1, /* null pointer, negative size, bad dtype/op code, too many dims */
    NG_ERR_UNSUPPORTED = 2,      /* op/dtype combination not implemented */
    NG_ERR_OUT_OF_MEMORY = 3,
    NG_ERR_INDEX = 4             /* an index array holds a value outside its range */
} ng_status;

typedef enum ng_dtype { NG_F32 = 0, NG_F64 = 1 } ng_dtype;

/* Element-wise unary ops: y = f(x; alpha, beta). */
typedef enum ng_unary_op {
    NG_UNARY_NEG = 0,
    NG_UNARY_EXP = 1,
    NG_UNARY_LOG = 2,
    NG_UNARY_SQRT = 3,
    NG_UNARY_RSQRT = 4,
    NG_UNARY_ABS = 5,
    NG_UNARY_SIN = 6,
    NG_UNARY_COS = 7,
    NG_UNARY_TANH = 8,
    NG_UNARY_SIGMOID = 9,
    NG_UNARY_RELU = 10,
    NG_UNARY_LOG1P = 11,
    NG_UNARY_EXPM1 = 12,
    NG_UNARY_RECIPROCAL = 13,
    NG_UNARY_SQUARE = 14,
    NG_UNARY_SIGN = 15,        /* -1, 0, +1; NaN stays NaN */
    NG_UNARY_ERF = 16,
    NG_UNARY_POW_SCALAR = 17,  /* x ^ alpha */
    NG_UNARY_CLAMP = 18,       /* min(max(x, alpha), beta); NaN bounds mean "no bound"; NaN x stays NaN */
    NG_UNARY_SOFTPLUS = 19,    /* beta = alpha, threshold = beta: x*alpha > beta ? x : log1p(exp(alpha*x))/alpha, computed stably */
    NG_UNARY_GT_SCALAR = 20,   /* x > alpha ? 1 : 0 */
    NG_UNARY_LT_SCALAR = 21,   /* x < alpha ? 1 : 0 */
    NG_UNARY_GE_SCALAR = 22,   /* x >= alpha ? 1 : 0 */
    NG_UNARY_LE_SCALAR = 23,   /* x <= alpha ? 1 : 0 */
    NG_UNARY_AFFINE = 24,      /* alpha * x + beta */
    NG_UNARY_SILU = 25,        /* x * sigmoid(x) */
    NG_UNARY_GELU = 26,        /* x * Phi(x) (erf form) */
    NG_UNARY_GELU_TANH = 27,   /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    NG_UNARY_LEAKY_RELU = 28,  /* x > 0 ? x : alpha * x */
    NG_UNARY_ELU = 29,         /* x > 0 ? x : alpha * expm1(x) */
    NG_UNARY_LOG_SIGMOID = 30, /* log(sigmoid(x)) = -softplus(-x), stable */
    NG_UNARY_COUNT = 31
} ng_unary_op;

/* Element-wise binary ops: out = f(a, b). Comparisons produce 1 or 0. */
typedef enum ng_binary_op {
    NG_BINARY_ADD = 0,
    NG_BINARY_SUB = 1,
    NG_BINARY_MUL = 2,
    NG_BINARY_DIV = 3,
    NG_BINARY_POW = 4,
    NG_BINARY_MAXIMUM = 5,   /* NaN-propagating, as torch.maximum */
    NG_BINARY_MINIMUM = 6,   /* NaN-propagating, as torch.minimum */
    NG_BINARY_EQ = 7,
    NG_BINARY_GT = 8,
    NG_BINARY_LT = 9,
    NG_BINARY_GE = 10,
    NG_BINARY_LE = 11,
    /* The two halves of binary_cross_entropy_with_logits, fused (a = logits x, b = targets y): f32 in float with the
     * vector exp/log1p (within 2 ulp for targets in [0, 1]; ctest), f64 in double with libm:
     * BCE_WITH_LOGITS: (1 - y) x + log(1 + e^-x), stably ((1 - y) x for x >= 0, -(y x) for x < 0, plus
     *                  log1p(e^-|x|)): the element-wise loss;
     * SIGMOID_SUB:     sigmoid(x) - y: its gradient with respect to x. */
    NG_BINARY_BCE_WITH_LOGITS = 12,
    NG_BINARY_SIGMOID_SUB = 13,
    NG_BINARY_COUNT = 14
} ng_binary_op;

/* Reductions over the middle axis of a contiguous [outer, n, inner] array. */
typedef enum ng_reduce_op {
    NG_REDUCE_SUM = 0,  /* accurate: pairwise or wider accumulation (16M floats within 1e-6 relative) */
    NG_REDUCE_PROD = 1,
    NG_REDUCE_MAX = 2,  /* NaN-propagating */
    NG_REDUCE_MIN = 3,  /* NaN-propagating */
    NG_REDUCE_COUNT = 4
} ng_reduce_op;

/* ---- library ---- */
NG_API int ng_version(void);                    /* NG_ABI_VERSION */
NG_API const char *ng_last_error(void);         /* message of the last failure on this thread, "" if none */
/*   (implementation note: successful calls do not clear it; read it only after a non-zero status) */
NG_API const char *ng_kernel_path(void);        /* "avx512", "avx2" or "scalar": chosen once by CPUID */
/* Force a path for testing ("scalar", "avx2", "avx512"); fails with NG_ERR_UNSUPPORTED if the CPU lacks it. */
NG_API ng_status ng_set_kernel_path(const char *name);
/*   (implementation note: the choice is process-wide; an unknown name gives NG_ERR_INVALID_ARGUMENT) */
NG_API int ng_get_threads(void);                /* worker count of the persistent pool (default: cores) */
NG_API ng_status ng_set_threads(int n);         /* 1..256 */
/*   (implementation note: n counts all threads of a parallel region including the calling thread, so n = 1
 *    means no workers; ng_get_threads() returns that same total. The default is the number of online CPUs,
 *    overridable with the environment variable NG_NUM_THREADS. Results of every function are bitwise
 *    independent of the thread count. Concurrent calls from several threads are safe; while one parallel
 *    region runs, other callers compute on their own thread.) */

/* ---- element-wise ---- */
/* y[i] = op(x[i]) for i in [0, n); x and y contiguous; y may equal x (in place). */
NG_API ng_status ng_unary(int dtype, int op, int64_t n, const void *x, void *y, double alpha, double beta);

/* out (contiguous, shape[ndim]) = op(a, b) with a and b read through their strides (0 = broadcast).
 * out may equal a or b only when that operand is contiguous with the same shape. ndim may be 0 (scalar). */
NG_API ng_status ng_binary(int dtype, int op, int ndim, const int64_t *shape,
                           const void *a, const int64_t *a_strides,
                           const void *b, const int64_t *b_strides, void *out);

/* dst = src element-wise, both read/written through strides (dst strides must not overlap themselves). */
/*   (implementation note: a dst stride of 0 on a dimension longer than 1 is rejected as invalid.) */
NG_API ng_status ng_copy_strided(int dtype, int ndim, const int64_t *shape,
                                 const void *src, const int64_t *src_strides,
                                 void *dst, const int64_t *dst_strides);

/* dst[i] = value for i in [0, n). */
NG_API ng_status ng_fill(int dtype, int64_t n, void *dst, double value);

/* ---- reductions ---- */
/* x contiguous [outer, n, inner] -> y contiguous [outer, inner]. n may be 0 (sum 0, prod 1, max -inf, min +inf). */
NG_API ng_status ng_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner, const void *x, void *y);

/* ---- softmax ---- */
/* Row-wise over the last axis of a contiguous [rows, cols] array; log != 0 gives log_softmax.
 * Numerically stable (max subtracted). */
NG_API ng_status ng_softmax(int dtype, int log, int64_t rows, int64_t cols, const void *x, void *y);
/* The backward of ng_softmax, row-wise over contiguous [rows, cols] arrays, in one pass over each row:
 * y is the forward output, g the gradient of the loss with respect to y, dx the gradient with respect to x:
 *   softmax:      dx = y * (g - sum(g * y))
 *   log_softmax:  dx = g - exp(y) * sum(g)
 * Row sums in double. dx may equal g (in place); otherwise dx must not overlap y or g. */
NG_API ng_status ng_softmax_backward(int dtype, int log, int64_t rows, int64_t cols, const void *y, const void *g,
                                     void *dx);

/* ---- linear algebra ---- */
/* C = alpha * op(A) * op(B) + beta * C for `batch` matrices.
 * op(A) is M x K: A is stored row-major as M x K (trans_a = 0, lda >= K) or K x M (trans_a = 1, lda >= M).
 * op(B) is K x N: B is stored row-major as K x N (trans_b = 0, ldb >= N) or N x K (trans_b = 1, ldb >= K).
 * C is M x N row-major with ldc >= N. Matrix i starts at A + i*stride_a (etc.); stride_a/stride_b may be 0
 * (the same matrix for every batch). When beta == 0, C is not read (NaNs in C do not propagate).
 * (implementation notes: trans_a/trans_b must be 0 or 1; the lda/ldb bounds are only checked when the matrix
 *  is read (M, N, K, batch > 0). As in BLAS, alpha == 0 or K == 0 gives C = beta * C without reading A and B.
 *  stride_c may be 0: the batch entries are then applied in order, so beta = 1 accumulates over the batch.) */
NG_API ng_status ng_gemm(int dtype, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                         const void *A, int64_t lda, int64_t stride_a,
                         const void *B, int64_t ldb, int64_t stride_b,
                         double beta, void *C, int64_t ldc, int64_t stride_c, int64_t batch);

/* ---- indexing ---- */
/* x contiguous [outer, dim, inner]; idx[nidx] (each in [0, dim)); y contiguous [outer, nidx, inner]:
 * y[o, j, i] = x[o, idx[j], i]. */
NG_API ng_status ng_index_select(int dtype, int64_t outer, int64_t dim, int64_t inner,
                                 const void *x, const int64_t *idx, int64_t nidx, void *y);
/* The adjoint: y[o, idx[j], i] += x[o, j, i] (y must be initialised by the caller; repeated indices add). */
NG_API ng_status ng_index_add(int dtype, int64_t outer, int64_t dim, int64_t inner,
                              const void *x, const int64_t *idx, int64_t nidx, void *y);
/* x contiguous [outer, dim, inner]; idx contiguous [outer, inner] (each in [0, dim)); y [outer, inner]:
 * y[o, i] = x[o, idx[o, i], i]. */
NG_API ng_status ng_gather(int dtype, int64_t outer, int64_t dim, int64_t inner,
                           const void *x, const int64_t *idx, void *y);
/* The adjoint: y[o, idx[o, i], i] += x[o, i]. */
NG_API ng_status ng_scatter_add(int dtype, int64_t outer, int64_t dim, int64_t inner,
                                const void *x, const int64_t *idx, void *y);

/* ---- convolution helpers (NCHW) ---- */
/* x [N, C, H, W] -> cols [N, C*KH*KW, OH*OW] with OH = (H + 2*PH - KH)/SH + 1, OW likewise; zero padding.
 * (implementation note: KH, KW, SH, SW >= 1, PH, PW >= 0 and H + 2*PH >= KH, W + 2*PW >= KW, else
 *  NG_ERR_INVALID_ARGUMENT; the same rules apply to ng_col2im and, with no padding, to ng_maxpool2d.) */
NG_API ng_status ng_im2col(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
                           int64_t SH, int64_t SW, int64_t PH, int64_t PW, const void *x, void *cols);
/* The adjoint: x[N, C, H, W] += fold(cols) (x must be initialised by the caller). */
NG_API ng_status ng_col2im(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
                           int64_t SH, int64_t SW, int64_t PH, int64_t PW, const void *cols, void *x);
/* Max pooling without padding: x [N, C, H, W] -> y [N, C, OH, OW] and idx [N, C, OH, OW] holding the flat
 * index (h*W + w) of the maximum inside each [H, W] plane (the first maximum; NaN wins, as in PyTorch). */
/*   (implementation note: exactly PyTorch's CPU rule `if (v > max || isnan(v)) take v`, scanning the window
 *    row-major from max = -inf, index = the window's first element: among several NaNs the last one wins.) */
NG_API ng_status ng_maxpool2d(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
                              int64_t SH, int64_t SW, const void *x, void *y, int64_t *idx);

#ifdef __cplusplus
}
#endif

#endif /* NATIVEGRAD_H */
