/*
 * ng_internal.h - private declarations shared by the API layer and the kernels.
 *
 * Kernel dispatch: one ng_kernel_table per code path ("scalar", "avx2", "avx512"). The scalar table is
 * complete; the SIMD tables start as a copy of the next-lower table and override the entries they
 * vectorise. The API layer validates arguments, splits work across the thread pool and calls into the
 * current table (ng_kernels()).
 */
#ifndef NG_INTERNAL_H
#define NG_INTERNAL_H

#include "nativegrad.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define NG_X86 1
#else
#define NG_X86 0
#endif

#if defined(__GNUC__)
#define NG_LIKELY(x) __builtin_expect(!!(x), 1)
#define NG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NG_RESTRICT __restrict__
#else
#define NG_LIKELY(x) (x)
#define NG_UNLIKELY(x) (x)
#define NG_RESTRICT
#endif

/* Orders this thread's earlier non-temporal (streaming) stores before its later stores, e.g. the thread pool's
 * completion flag: call it at the end of a task that may have streamed. A no-op off x86. */
#if NG_X86
#include <xmmintrin.h>
static inline void ng_store_fence(void) { _mm_sfence(); }
#else
static inline void ng_store_fence(void) {}
#endif

enum { NG_PATH_SCALAR = 0, NG_PATH_AVX2 = 1, NG_PATH_AVX512 = 2, NG_NPATHS = 3 };

/* y[i] = op(x[i]), i < n, contiguous. */
typedef void (*ng_unary_fn)(int64_t n, const void *x, void *y, double alpha, double beta);
/* out[i] = op(a[i*sa], b[i*sb]), i < n; out contiguous. sa/sb are element strides (0 = broadcast). */
typedef void (*ng_binary_fn)(int64_t n, const void *a, int64_t sa, const void *b, int64_t sb, void *out);
/* Reduce n contiguous elements. Sums/products of f32 are accumulated in double; the result is returned in
 * double (exact for max/min). */
typedef double (*ng_reduce_row_fn)(int64_t n, const void *x);
/* y[j] = reduce_r x[r*ld + j] for j < w, r < n (n >= 1); y typed (f32/f64), contiguous. */
typedef void (*ng_reduce_cols_fn)(int64_t n, int64_t w, int64_t ld, const void *x, void *y);
/* softmax / log_softmax of one contiguous row of `cols` elements. `flags` (softmax and backward rows): */
enum {
    NG_SM_LOG = 1,   /* log_softmax (else softmax) */
    NG_SM_STREAM = 2 /* the output is large and not read back soon: the row may be written with non-temporal stores;
                      * the driver calls ng_store_fence() before its task returns */
};
typedef void (*ng_softmax_row_fn)(int64_t cols, const void *x, void *y, int flags);
/* the backward of one row: dx from the forward output y and the output gradient g (dx may equal g). */
typedef void (*ng_softmax_bwd_row_fn)(int64_t cols, const void *y, const void *g, void *dx, int flags);
/* GEMM micro-kernel: C[MR x NR] (row stride ldc) = alpha * Apacked * Bpacked + beta * C.
 * Apacked: k groups of MR values (column of the A sliver); Bpacked: k groups of NR values.
 * beta == 0: C is not read. */
typedef void (*ng_gemm_ukr_fn)(int64_t k, const void *a, const void *b, void *c, int64_t ldc,
                               double alpha, double beta);

typedef struct ng_gemm_desc {
    int mr, nr;         /* micro-tile */
    int64_t kc, mc, nc; /* cache blocking: kc depth, mc rows of A per block, nc columns of B per panel */
    ng_gemm_ukr_fn ukr;
} ng_gemm_desc;

typedef struct ng_kernel_table {
    const char *name;
    ng_unary_fn unary[2][NG_UNARY_COUNT];
    ng_binary_fn binary[2][NG_BINARY_COUNT];
    /* the same ops, but the output may be written with non-temporal stores: for outputs that will not stay
     * cached (the caller fences with ng_store_fence() before publishing); = binary where not vectorised */
    ng_binary_fn binary_stream[2][NG_BINARY_COUNT];
    ng_reduce_row_fn reduce_row[2][NG_REDUCE_COUNT];
    ng_reduce_cols_fn reduce_cols[2][NG_REDUCE_COUNT];
    ng_softmax_row_fn softmax_row[2];
    ng_softmax_bwd_row_fn softmax_bwd_row[2];
    ng_gemm_desc gemm[2];
} ng_kernel_table;

/* ng_cpu.c */
const ng_kernel_table *ng_kernels(void);

/* per-path table initialisers (kernels/...); each overrides entries of an already-filled table */
void ng_unary_init_scalar(ng_kernel_table *t);
void ng_binary_init_scalar(ng_kernel_table *t);
void ng_reduce_init_scalar(ng_kernel_table *t);
void ng_softmax_init_scalar(ng_kernel_table *t);
void ng_gemm_init_scalar(ng_kernel_table *t);
#if NG_X86
void ng_unary_init_avx2(ng_kernel_table *t);
void ng_binary_init_avx2(ng_kernel_table *t);
void ng_reduce_init_avx2(ng_kernel_table *t);
void ng_softmax_init_avx2(ng_kernel_table *t);
void ng_gemm_init_avx2(ng_kernel_table *t);
void ng_unary_init_avx512(ng_kernel_table *t);
void ng_binary_init_avx512(ng_kernel_table *t);
void ng_reduce_init_avx512(ng_kernel_table *t);
void ng_softmax_init_avx512(ng_kernel_table *t);
void ng_gemm_init_avx512(ng_kernel_table *t);
#endif

/* ng_api.c: set the thread-local error message and return st. */
ng_status ng_fail(ng_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ng_threadpool.c: per-thread 64-byte aligned scratch buffers (grown on demand, kept for the thread's
 * lifetime). Returns NULL on allocation failure. Slots: */
enum { NG_SCRATCH_GEMM_A = 0, NG_SCRATCH_GEMM_B = 1, NG_SCRATCH_REDUCE = 2, NG_SCRATCH_MISC = 3,
       NG_SCRATCH_SLOTS = 4 };
void *ng_scratch(int slot, size_t bytes);

/* kernels/gemm.c */
ng_status ng_gemm_run(int dtype, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                      const void *A, int64_t lda, int64_t stride_a, const void *B, int64_t ldb,
                      int64_t stride_b, double beta, void *C, int64_t ldc, int64_t stride_c, int64_t batch);

/* kernels/copy.c: strided N-d copy / binary driver over already-validated, coalesced shapes */
void ng_copy_run(size_t esize, int ndim, const int64_t *shape, const void *src, const int64_t *ss, void *dst,
                 const int64_t *ds);
void ng_binary_run(int dtype, int op, int ndim, const int64_t *shape, const void *a, const int64_t *as,
                   const void *b, const int64_t *bs, void *out);

/* kernels/drivers.c (validated arguments) */
void ng_unary_run(int dtype, int op, int64_t n, const void *x, void *y, double alpha, double beta);
void ng_fill_run(int dtype, int64_t n, void *dst, double value);
ng_status ng_reduce_run(int dtype, int op, int64_t outer, int64_t n, int64_t inner, const void *x, void *y);
void ng_softmax_run(int dtype, int log, int64_t rows, int64_t cols, const void *x, void *y);
void ng_softmax_backward_run(int dtype, int log, int64_t rows, int64_t cols, const void *y, const void *g, void *dx);

/* kernels/index.c, kernels/conv.c (validated arguments) */
void ng_index_select_run(size_t es, int64_t outer, int64_t dim, int64_t inner, const void *x,
                         const int64_t *idx, int64_t nidx, void *y);
void ng_index_add_run(int dtype, int64_t outer, int64_t dim, int64_t inner, const void *x, const int64_t *idx,
                      int64_t nidx, void *y);
void ng_gather_run(size_t es, int64_t outer, int64_t dim, int64_t inner, const void *x, const int64_t *idx,
                   void *y);
void ng_scatter_add_run(int dtype, int64_t outer, int64_t dim, int64_t inner, const void *x,
                        const int64_t *idx, void *y);
void ng_im2col_run(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                   int64_t SW, int64_t PH, int64_t PW, int64_t OH, int64_t OW, const void *x, void *cols);
void ng_col2im_run(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                   int64_t SW, int64_t PH, int64_t PW, int64_t OH, int64_t OW, const void *cols, void *x);
void ng_maxpool2d_run(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
                      int64_t SH, int64_t SW, int64_t OH, int64_t OW, const void *x, void *y, int64_t *idx);

static inline size_t ng_esize(int dtype) { return dtype == NG_F32 ? 4u : 8u; }
static inline int64_t ng_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t ng_max64(int64_t a, int64_t b) { return a > b ? a : b; }

#endif /* NG_INTERNAL_H */
