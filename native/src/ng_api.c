/*
 * ng_api.c - the exported ng_* entry points: argument validation, dispatch, thread-local last error.
 * Nothing here aborts, prints or asserts: every problem becomes a status code plus a message.
 */
#include "ng_internal.h"
#include "ng_threadpool.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* ------------------------------------------------------------------------------------------ errors */
static _Thread_local char ng_errbuf[512];

ng_status ng_fail(ng_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ng_errbuf, sizeof ng_errbuf, fmt, ap);
    va_end(ap);
    return st;
}

NG_API const char *ng_last_error(void) { return ng_errbuf; }
NG_API int ng_version(void) { return NG_ABI_VERSION; }

/* ----------------------------------------------------------------------------------------- helpers */
#define INVALID NG_ERR_INVALID_ARGUMENT
#define RETURN_IF(st) do { ng_status st_ = (st); if (st_ != NG_OK) return st_; } while (0)

static int mul_ovf(int64_t a, int64_t b, int64_t *r) { /* a, b >= 0 */
#if defined(__GNUC__)
    return __builtin_mul_overflow(a, b, r);
#else
    if (a != 0 && b > INT64_MAX / a) return 1;
    *r = a * b;
    return 0;
#endif
}
static int add_ovf(int64_t a, int64_t b, int64_t *r) { /* a, b >= 0 */
    if (b > INT64_MAX - a) return 1;
    *r = a + b;
    return 0;
}

static ng_status check_dtype(const char *fn, int dtype) {
    if (dtype != NG_F32 && dtype != NG_F64)
        return ng_fail(INVALID, "%s: invalid dtype %d (expected 0 = f32 or 1 = f64)", fn, dtype);
    return NG_OK;
}
static ng_status check_size(const char *fn, const char *name, int64_t v) {
    if (v < 0) return ng_fail(INVALID, "%s: %s must be >= 0 (got %" PRId64 ")", fn, name, v);
    return NG_OK;
}
static ng_status check_ptr(const char *fn, const char *name, const void *p, int64_t count) {
    if (count > 0 && p == NULL) return ng_fail(INVALID, "%s: %s is NULL (%" PRId64 " elements)", fn, name, count);
    return NG_OK;
}
/* product of sizes (each already >= 0) with overflow check */
static ng_status check_prod(const char *fn, const char *what, int64_t *out, int count, ...) {
    va_list ap;
    va_start(ap, count);
    int64_t p = 1;
    int ovf = 0;
    for (int i = 0; i < count; i++) {
        int64_t v = va_arg(ap, int64_t);
        if (!ovf && mul_ovf(p, v, &p)) ovf = 1;
    }
    va_end(ap);
    if (ovf) return ng_fail(INVALID, "%s: size of %s overflows int64", fn, what);
    *out = p;
    return NG_OK;
}

/* An operand spanning `extent` elements must fit in PTRDIFF_MAX bytes: no real array is larger, and the
 * kernels' byte offsets (size_t) rely on it. */
static ng_status check_bytes(const char *fn, const char *name, int64_t extent, size_t es) {
    if (extent > (int64_t)(PTRDIFF_MAX / (ptrdiff_t)es))
        return ng_fail(INVALID, "%s: %s spans %" PRId64 " elements of %zu bytes, more than an address space holds", fn,
                       name, extent, es);
    return NG_OK;
}

/* shape/strides of an N-d operand: nonneg strides, the largest offset must fit (in elements and in bytes).
 * *extent = largest offset + 1 (0 for an empty shape): the elements the operand spans from its pointer. */
static ng_status check_strided(const char *fn, const char *name, int ndim, const int64_t *shape,
                               const int64_t *strides, int64_t total, size_t es, int64_t *extent) {
    if (ndim > 0 && strides == NULL) return ng_fail(INVALID, "%s: %s is NULL with ndim = %d", fn, name, ndim);
    int64_t maxoff = 0;
    for (int d = 0; d < ndim; d++) {
        if (strides[d] < 0)
            return ng_fail(INVALID, "%s: %s[%d] = %" PRId64 " is negative", fn, name, d, strides[d]);
        if (total > 0) {
            int64_t t;
            if (mul_ovf(shape[d] - 1, strides[d], &t) || add_ovf(maxoff, t, &maxoff))
                return ng_fail(INVALID, "%s: extent of %s overflows int64", fn, name);
        }
    }
    if (maxoff == INT64_MAX) return ng_fail(INVALID, "%s: extent of %s overflows int64", fn, name);
    *extent = total > 0 ? maxoff + 1 : 0;
    return check_bytes(fn, name, *extent, es);
}

/* True when strides (elements) describe the contiguous row-major layout of shape. */
static int is_contiguous(int ndim, const int64_t *shape, const int64_t *strides) {
    int64_t expected = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        if (shape[d] == 1) continue;
        if (strides[d] != expected) return 0;
        expected *= shape[d]; /* cannot overflow: the product of the shape was checked */
    }
    return 1;
}

/* True when no two indices of a non-empty shape reach the same element: sorted by stride, every stride must
 * step over the whole block of the smaller ones (the layout of any view of a dense array). */
static int is_non_overlapping(int ndim, const int64_t *shape, const int64_t *strides) {
    int64_t sh[NG_MAX_DIMS], st[NG_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 1) continue;
        int i = n++;
        while (i > 0 && st[i - 1] > strides[d]) { st[i] = st[i - 1]; sh[i] = sh[i - 1]; i--; }
        st[i] = strides[d];
        sh[i] = shape[d];
    }
    if (n > 0 && st[0] == 0) return 0;
    for (int i = 1; i < n; i++) {
        int64_t block;
        if (mul_ovf(st[i - 1], sh[i - 1], &block) || st[i] < block) return 0;
    }
    return 1;
}

/* Whether the byte ranges [p, p + pbytes) and [q, q + qbytes) intersect (empty ranges never do). */
static int ranges_overlap(const void *p, int64_t pbytes, const void *q, int64_t qbytes) {
    if (!p || !q || pbytes <= 0 || qbytes <= 0) return 0;
    const uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
    return a < b + (uintptr_t)qbytes && b < a + (uintptr_t)pbytes;
}

/* An output must not share memory with an input (unless the function allows exact aliasing, checked by caller). */
static ng_status check_disjoint(const char *fn, const char *out_name, const void *out, int64_t out_bytes,
                                const char *in_name, const void *in, int64_t in_bytes) {
    if (ranges_overlap(out, out_bytes, in, in_bytes))
        return ng_fail(INVALID, "%s: %s overlaps %s in memory (outputs must not alias inputs)", fn, out_name, in_name);
    return NG_OK;
}
#define BYTES(n, es) ((int64_t)(n) * (int64_t)(es)) /* only after check_bytes */

static ng_status check_shape(const char *fn, int ndim, const int64_t *shape, int64_t *total) {
    if (ndim < 0 || ndim > NG_MAX_DIMS)
        return ng_fail(INVALID, "%s: ndim = %d is outside 0..%d", fn, ndim, NG_MAX_DIMS);
    if (ndim > 0 && shape == NULL) return ng_fail(INVALID, "%s: shape is NULL with ndim = %d", fn, ndim);
    int64_t t = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return ng_fail(INVALID, "%s: shape[%d] = %" PRId64 " is negative", fn, d, shape[d]);
        if (mul_ovf(t, shape[d], &t)) return ng_fail(INVALID, "%s: number of elements overflows int64", fn);
    }
    *total = t;
    return NG_OK;
}

static ng_status check_indices(const char *fn, const int64_t *idx, int64_t n, int64_t dim) {
    for (int64_t i = 0; i < n; i++) {
        const int64_t v = idx[i];
        if (NG_UNLIKELY(v < 0 || v >= dim))
            return ng_fail(NG_ERR_INDEX, "%s: index %" PRId64 " at position %" PRId64 " is out of range [0, %" PRId64 ")",
                           fn, v, i, dim);
    }
    return NG_OK;
}

/* --------------------------------------------------------------------------------------- library */
NG_API int ng_get_threads(void) { return ng_pool_threads(); }

NG_API ng_status ng_set_threads(int n) {
    if (n < 1 || n > 256) return ng_fail(INVALID, "ng_set_threads: n = %d is outside 1..256", n);
    if (ng_pool_set_threads(n) != 0)
        return ng_fail(NG_ERR_OUT_OF_MEMORY, "ng_set_threads: could not create %d threads (running with %d)", n,
                       ng_pool_threads());
    return NG_OK;
}

/* ---------------------------------------------------------------------------------- element-wise */
NG_API ng_status ng_unary(int dtype, int op, int64_t n, const void *x, void *y, double alpha, double beta) {
    static const char fn[] = "ng_unary";
    RETURN_IF(check_dtype(fn, dtype));
    if (op < 0 || op >= NG_UNARY_COUNT)
        return ng_fail(INVALID, "%s: invalid op %d (expected 0..%d)", fn, op, NG_UNARY_COUNT - 1);
    RETURN_IF(check_size(fn, "n", n));
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_bytes(fn, "x", n, es));
    RETURN_IF(check_ptr(fn, "x", x, n));
    RETURN_IF(check_ptr(fn, "y", y, n));
    if (n == 0) return NG_OK;
    if (x != y) RETURN_IF(check_disjoint(fn, "y", y, BYTES(n, es), "x", x, BYTES(n, es))); /* y == x: in place */
    ng_unary_run(dtype, op, n, x, y, alpha, beta);
    return NG_OK;
}

NG_API ng_status ng_binary(int dtype, int op, int ndim, const int64_t *shape, const void *a,
                           const int64_t *a_strides, const void *b, const int64_t *b_strides, void *out) {
    static const char fn[] = "ng_binary";
    /* Fast path for the commonest small call (one dimension, contiguous or scalar-broadcast operands, below the
     * parallel threshold): the same checks, done directly; anything unusual falls through to the general path,
     * which also reports the errors. Saves ~half of the call's fixed cost for tiny tensors. */
    if (ndim == 1 && shape && a_strides && b_strides && (dtype == NG_F32 || dtype == NG_F64) && op >= 0 &&
        op < NG_BINARY_COUNT && a && b && out) {
        const int64_t n = shape[0], sa = a_strides[0], sb = b_strides[0];
        if (n > 0 && n <= 65536 && (sa == 0 || sa == 1) && (sb == 0 || sb == 1)) {
            const int64_t es = (int64_t)ng_esize(dtype), bytes = n * es;
            if (((out == a && sa == 1) || !ranges_overlap(out, bytes, a, sa ? bytes : es)) &&
                ((out == b && sb == 1) || !ranges_overlap(out, bytes, b, sb ? bytes : es))) {
                ng_kernels()->binary[dtype][op](n, a, sa, b, sb, out);
                return NG_OK;
            }
        }
    }
    RETURN_IF(check_dtype(fn, dtype));
    if (op < 0 || op >= NG_BINARY_COUNT)
        return ng_fail(INVALID, "%s: invalid op %d (expected 0..%d)", fn, op, NG_BINARY_COUNT - 1);
    int64_t total, ea, eb;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_shape(fn, ndim, shape, &total));
    RETURN_IF(check_strided(fn, "a_strides", ndim, shape, a_strides, total, es, &ea));
    RETURN_IF(check_strided(fn, "b_strides", ndim, shape, b_strides, total, es, &eb));
    RETURN_IF(check_bytes(fn, "out", total, es));
    RETURN_IF(check_ptr(fn, "a", a, total));
    RETURN_IF(check_ptr(fn, "b", b, total));
    RETURN_IF(check_ptr(fn, "out", out, total));
    if (total == 0) return NG_OK;
    /* out may be a or b itself when that operand is contiguous with out's shape; any other overlap is an error */
    if (!(out == a && is_contiguous(ndim, shape, a_strides)))
        RETURN_IF(check_disjoint(fn, "out", out, BYTES(total, es), "a", a, BYTES(ea, es)));
    if (!(out == b && is_contiguous(ndim, shape, b_strides)))
        RETURN_IF(check_disjoint(fn, "out", out, BYTES(total, es), "b", b, BYTES(eb, es)));
    ng_binary_run(dtype, op, ndim, shape, a, a_strides, b, b_strides, out);
    return NG_OK;
}

NG_API ng_status ng_copy_strided(int dtype, int ndim, const int64_t *shape, const void *src,
                                 const int64_t *src_strides, void *dst, const int64_t *dst_strides) {
    static const char fn[] = "ng_copy_strided";
    RETURN_IF(check_dtype(fn, dtype));
    int64_t total, es_src, es_dst;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_shape(fn, ndim, shape, &total));
    RETURN_IF(check_strided(fn, "src_strides", ndim, shape, src_strides, total, es, &es_src));
    RETURN_IF(check_strided(fn, "dst_strides", ndim, shape, dst_strides, total, es, &es_dst));
    RETURN_IF(check_ptr(fn, "src", src, total));
    RETURN_IF(check_ptr(fn, "dst", dst, total));
    if (total == 0) return NG_OK;
    for (int d = 0; d < ndim; d++)
        if (shape[d] > 1 && dst_strides[d] == 0)
            return ng_fail(INVALID, "%s: dst_strides[%d] = 0 with shape[%d] = %" PRId64 " (destination overlaps itself)",
                           fn, d, d, shape[d]);
    if (!is_non_overlapping(ndim, shape, dst_strides))
        return ng_fail(INVALID, "%s: dst_strides make two elements of the destination share memory", fn);
    ng_copy_run(ng_esize(dtype), ndim, shape, src, src_strides, dst, dst_strides);
    return NG_OK;
}

NG_API ng_status ng_fill(int dtype, int64_t n, void *dst, double value) {
    static const char fn[] = "ng_fill";
    RETURN_IF(check_dtype(fn, dtype));
    RETURN_IF(check_size(fn, "n", n));
    RETURN_IF(check_bytes(fn, "dst", n, ng_esize(dtype)));
    RETURN_IF(check_ptr(fn, "dst", dst, n));
    if (n > 0) ng_fill_run(dtype, n, dst, value);
    return NG_OK;
}

/* ------------------------------------------------------------------------------------ reductions */
NG_API ng_status ng_reduce(int dtype, int op, int64_t outer, int64_t n, int64_t inner, const void *x, void *y) {
    static const char fn[] = "ng_reduce";
    RETURN_IF(check_dtype(fn, dtype));
    if (op < 0 || op >= NG_REDUCE_COUNT)
        return ng_fail(INVALID, "%s: invalid op %d (expected 0..%d)", fn, op, NG_REDUCE_COUNT - 1);
    RETURN_IF(check_size(fn, "outer", outer));
    RETURN_IF(check_size(fn, "n", n));
    RETURN_IF(check_size(fn, "inner", inner));
    int64_t nx, ny;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_prod(fn, "x", &nx, 3, outer, n, inner));
    RETURN_IF(check_prod(fn, "y", &ny, 2, outer, inner));
    RETURN_IF(check_bytes(fn, "x", nx, es));
    RETURN_IF(check_bytes(fn, "y", ny, es));
    RETURN_IF(check_ptr(fn, "x", x, nx));
    RETURN_IF(check_ptr(fn, "y", y, ny));
    RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "x", x, BYTES(nx, es)));
    return ng_reduce_run(dtype, op, outer, n, inner, x, y);
}

NG_API ng_status ng_softmax(int dtype, int log, int64_t rows, int64_t cols, const void *x, void *y) {
    static const char fn[] = "ng_softmax";
    RETURN_IF(check_dtype(fn, dtype));
    RETURN_IF(check_size(fn, "rows", rows));
    RETURN_IF(check_size(fn, "cols", cols));
    int64_t total;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_prod(fn, "x", &total, 2, rows, cols));
    RETURN_IF(check_bytes(fn, "x", total, es));
    RETURN_IF(check_ptr(fn, "x", x, total));
    RETURN_IF(check_ptr(fn, "y", y, total));
    if (x != y) RETURN_IF(check_disjoint(fn, "y", y, BYTES(total, es), "x", x, BYTES(total, es))); /* rows are independent: in place is fine */
    ng_softmax_run(dtype, log != 0, rows, cols, x, y);
    return NG_OK;
}

NG_API ng_status ng_softmax_backward(int dtype, int log, int64_t rows, int64_t cols, const void *y, const void *g,
                                     void *dx) {
    static const char fn[] = "ng_softmax_backward";
    RETURN_IF(check_dtype(fn, dtype));
    RETURN_IF(check_size(fn, "rows", rows));
    RETURN_IF(check_size(fn, "cols", cols));
    int64_t total;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_prod(fn, "y", &total, 2, rows, cols));
    RETURN_IF(check_bytes(fn, "y", total, es));
    RETURN_IF(check_ptr(fn, "y", y, total));
    RETURN_IF(check_ptr(fn, "g", g, total));
    RETURN_IF(check_ptr(fn, "dx", dx, total));
    RETURN_IF(check_disjoint(fn, "dx", dx, BYTES(total, es), "y", y, BYTES(total, es)));
    if (dx != g) RETURN_IF(check_disjoint(fn, "dx", dx, BYTES(total, es), "g", g, BYTES(total, es))); /* in place on g is fine */
    ng_softmax_backward_run(dtype, log != 0, rows, cols, y, g, dx);
    return NG_OK;
}

/* -------------------------------------------------------------------------------------------- gemm */
/* *extent = elements spanned by a batch of row-major (rows x cols, leading dimension ld) matrices */
static ng_status check_matrix(const char *fn, const char *name, int64_t rows, int64_t cols, int64_t ld,
                              int64_t stride, int64_t batch, size_t es, int64_t *extent) {
    *extent = 0;
    if (rows == 0 || cols == 0 || batch == 0) return NG_OK;
    int64_t t, u;
    if (mul_ovf(rows - 1, ld, &t) || add_ovf(t, cols, &t) || mul_ovf(batch - 1, stride, &u) || add_ovf(t, u, &t))
        return ng_fail(INVALID, "%s: extent of %s overflows int64", fn, name);
    *extent = t;
    return check_bytes(fn, name, t, es);
}

NG_API ng_status ng_gemm(int dtype, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                         const void *A, int64_t lda, int64_t stride_a, const void *B, int64_t ldb,
                         int64_t stride_b, double beta, void *C, int64_t ldc, int64_t stride_c, int64_t batch) {
    static const char fn[] = "ng_gemm";
    RETURN_IF(check_dtype(fn, dtype));
    if (trans_a != 0 && trans_a != 1) return ng_fail(INVALID, "%s: trans_a = %d (expected 0 or 1)", fn, trans_a);
    if (trans_b != 0 && trans_b != 1) return ng_fail(INVALID, "%s: trans_b = %d (expected 0 or 1)", fn, trans_b);
    RETURN_IF(check_size(fn, "M", M));
    RETURN_IF(check_size(fn, "N", N));
    RETURN_IF(check_size(fn, "K", K));
    RETURN_IF(check_size(fn, "batch", batch));
    RETURN_IF(check_size(fn, "lda", lda));
    RETURN_IF(check_size(fn, "ldb", ldb));
    RETURN_IF(check_size(fn, "ldc", ldc));
    RETURN_IF(check_size(fn, "stride_a", stride_a));
    RETURN_IF(check_size(fn, "stride_b", stride_b));
    RETURN_IF(check_size(fn, "stride_c", stride_c));
    const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
    const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
    const int use_ab = M > 0 && N > 0 && K > 0 && batch > 0;
    if (use_ab && lda < a_cols)
        return ng_fail(INVALID, "%s: lda = %" PRId64 " < %" PRId64 " (trans_a = %d)", fn, lda, a_cols, trans_a);
    if (use_ab && ldb < b_cols)
        return ng_fail(INVALID, "%s: ldb = %" PRId64 " < %" PRId64 " (trans_b = %d)", fn, ldb, b_cols, trans_b);
    if (M > 0 && N > 0 && batch > 0 && ldc < N)
        return ng_fail(INVALID, "%s: ldc = %" PRId64 " < N = %" PRId64, fn, ldc, N);
    const size_t es = ng_esize(dtype);
    int64_t ea = 0, eb = 0, ec = 0;
    if (use_ab) {
        RETURN_IF(check_matrix(fn, "A", a_rows, a_cols, lda, stride_a, batch, es, &ea));
        RETURN_IF(check_matrix(fn, "B", b_rows, b_cols, ldb, stride_b, batch, es, &eb));
        RETURN_IF(check_ptr(fn, "A", A, 1));
        RETURN_IF(check_ptr(fn, "B", B, 1));
    }
    RETURN_IF(check_matrix(fn, "C", M, N, ldc, stride_c, batch, es, &ec));
    if (M > 0 && N > 0 && batch > 0) RETURN_IF(check_ptr(fn, "C", C, 1));
    if (use_ab) {
        RETURN_IF(check_disjoint(fn, "C", C, BYTES(ec, es), "A", A, BYTES(ea, es)));
        RETURN_IF(check_disjoint(fn, "C", C, BYTES(ec, es), "B", B, BYTES(eb, es)));
    }
    return ng_gemm_run(dtype, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc,
                       stride_c, batch);
}

/* ---------------------------------------------------------------------------------------- indexing */
static ng_status check_odi(const char *fn, int64_t outer, int64_t dim, int64_t inner) {
    RETURN_IF(check_size(fn, "outer", outer));
    RETURN_IF(check_size(fn, "dim", dim));
    RETURN_IF(check_size(fn, "inner", inner));
    return NG_OK;
}

NG_API ng_status ng_index_select(int dtype, int64_t outer, int64_t dim, int64_t inner, const void *x,
                                 const int64_t *idx, int64_t nidx, void *y) {
    static const char fn[] = "ng_index_select";
    RETURN_IF(check_dtype(fn, dtype));
    RETURN_IF(check_odi(fn, outer, dim, inner));
    RETURN_IF(check_size(fn, "nidx", nidx));
    int64_t nx, ny;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_prod(fn, "x", &nx, 3, outer, dim, inner));
    RETURN_IF(check_prod(fn, "y", &ny, 3, outer, nidx, inner));
    RETURN_IF(check_bytes(fn, "x", nx, es));
    RETURN_IF(check_bytes(fn, "y", ny, es));
    RETURN_IF(check_bytes(fn, "idx", nidx, sizeof(int64_t)));
    RETURN_IF(check_ptr(fn, "idx", idx, nidx));
    RETURN_IF(check_ptr(fn, "x", x, ny > 0 ? nx : 0));
    RETURN_IF(check_ptr(fn, "y", y, ny));
    if (ny > 0) {
        RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "x", x, BYTES(nx, es)));
        RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "idx", idx, BYTES(nidx, 8)));
    }
    RETURN_IF(check_indices(fn, idx, nidx, dim));
    ng_index_select_run(ng_esize(dtype), outer, dim, inner, x, idx, nidx, y);
    return NG_OK;
}

NG_API ng_status ng_index_add(int dtype, int64_t outer, int64_t dim, int64_t inner, const void *x,
                              const int64_t *idx, int64_t nidx, void *y) {
    static const char fn[] = "ng_index_add";
    RETURN_IF(check_dtype(fn, dtype));
    RETURN_IF(check_odi(fn, outer, dim, inner));
    RETURN_IF(check_size(fn, "nidx", nidx));
    int64_t nx, ny;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_prod(fn, "x", &nx, 3, outer, nidx, inner));
    RETURN_IF(check_prod(fn, "y", &ny, 3, outer, dim, inner));
    RETURN_IF(check_bytes(fn, "x", nx, es));
    RETURN_IF(check_bytes(fn, "y", ny, es));
    RETURN_IF(check_bytes(fn, "idx", nidx, sizeof(int64_t)));
    RETURN_IF(check_ptr(fn, "idx", idx, nidx));
    RETURN_IF(check_ptr(fn, "x", x, nx));
    RETURN_IF(check_ptr(fn, "y", y, nx > 0 ? ny : 0));
    if (nx > 0) {
        RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "x", x, BYTES(nx, es)));
        RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "idx", idx, BYTES(nidx, 8)));
    }
    RETURN_IF(check_indices(fn, idx, nidx, dim));
    ng_index_add_run(dtype, outer, dim, inner, x, idx, nidx, y);
    return NG_OK;
}

NG_API ng_status ng_gather(int dtype, int64_t outer, int64_t dim, int64_t inner, const void *x,
                           const int64_t *idx, void *y) {
    static const char fn[] = "ng_gather";
    RETURN_IF(check_dtype(fn, dtype));
    RETURN_IF(check_odi(fn, outer, dim, inner));
    int64_t nx, ny;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_prod(fn, "x", &nx, 3, outer, dim, inner));
    RETURN_IF(check_prod(fn, "y", &ny, 2, outer, inner));
    RETURN_IF(check_bytes(fn, "x", nx, es));
    RETURN_IF(check_bytes(fn, "idx", ny, sizeof(int64_t)));
    RETURN_IF(check_ptr(fn, "idx", idx, ny));
    RETURN_IF(check_ptr(fn, "x", x, ny > 0 ? nx : 0));
    RETURN_IF(check_ptr(fn, "y", y, ny));
    if (ny > 0) {
        RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "x", x, BYTES(nx, es)));
        RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "idx", idx, BYTES(ny, 8)));
    }
    RETURN_IF(check_indices(fn, idx, ny, dim));
    ng_gather_run(ng_esize(dtype), outer, dim, inner, x, idx, y);
    return NG_OK;
}

NG_API ng_status ng_scatter_add(int dtype, int64_t outer, int64_t dim, int64_t inner, const void *x,
                                const int64_t *idx, void *y) {
    static const char fn[] = "ng_scatter_add";
    RETURN_IF(check_dtype(fn, dtype));
    RETURN_IF(check_odi(fn, outer, dim, inner));
    int64_t nx, ny;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_prod(fn, "x", &nx, 2, outer, inner));
    RETURN_IF(check_prod(fn, "y", &ny, 3, outer, dim, inner));
    RETURN_IF(check_bytes(fn, "y", ny, es));
    RETURN_IF(check_bytes(fn, "idx", nx, sizeof(int64_t)));
    RETURN_IF(check_ptr(fn, "idx", idx, nx));
    RETURN_IF(check_ptr(fn, "x", x, nx));
    RETURN_IF(check_ptr(fn, "y", y, nx > 0 ? ny : 0));
    if (nx > 0) {
        RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "x", x, BYTES(nx, es)));
        RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "idx", idx, BYTES(nx, 8)));
    }
    RETURN_IF(check_indices(fn, idx, nx, dim));
    ng_scatter_add_run(dtype, outer, dim, inner, x, idx, y);
    return NG_OK;
}

/* ------------------------------------------------------------------------------------ convolution */
static ng_status check_conv(const char *fn, int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH,
                            int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int64_t *OH, int64_t *OW,
                            int64_t *nx, int64_t *ncols) {
    RETURN_IF(check_dtype(fn, dtype));
    RETURN_IF(check_size(fn, "N", N));
    RETURN_IF(check_size(fn, "C", C));
    RETURN_IF(check_size(fn, "H", H));
    RETURN_IF(check_size(fn, "W", W));
    RETURN_IF(check_size(fn, "PH", PH));
    RETURN_IF(check_size(fn, "PW", PW));
    if (KH < 1 || KW < 1)
        return ng_fail(INVALID, "%s: kernel size %" PRId64 " x %" PRId64 " must be >= 1", fn, KH, KW);
    if (SH < 1 || SW < 1) return ng_fail(INVALID, "%s: stride %" PRId64 " x %" PRId64 " must be >= 1", fn, SH, SW);
    int64_t hp, wp;
    if (mul_ovf(PH, 2, &hp) || add_ovf(hp, H, &hp) || mul_ovf(PW, 2, &wp) || add_ovf(wp, W, &wp))
        return ng_fail(INVALID, "%s: padded size overflows int64", fn);
    if (hp < KH || wp < KW)
        return ng_fail(INVALID, "%s: kernel %" PRId64 " x %" PRId64 " is larger than the padded input %" PRId64 " x %" PRId64,
                       fn, KH, KW, hp, wp);
    *OH = (hp - KH) / SH + 1;
    *OW = (wp - KW) / SW + 1;
    RETURN_IF(check_prod(fn, "x", nx, 4, N, C, H, W));
    RETURN_IF(check_prod(fn, "cols", ncols, 6, N, C, KH, KW, *OH, *OW));
    RETURN_IF(check_bytes(fn, "x", *nx, ng_esize(dtype)));
    RETURN_IF(check_bytes(fn, "cols", *ncols, ng_esize(dtype)));
    return NG_OK;
}

NG_API ng_status ng_im2col(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
                           int64_t SH, int64_t SW, int64_t PH, int64_t PW, const void *x, void *cols) {
    static const char fn[] = "ng_im2col";
    int64_t OH = 0, OW = 0, nx = 0, nc = 0;
    RETURN_IF(check_conv(fn, dtype, N, C, H, W, KH, KW, SH, SW, PH, PW, &OH, &OW, &nx, &nc));
    RETURN_IF(check_ptr(fn, "cols", cols, nc));
    RETURN_IF(check_ptr(fn, "x", x, nc > 0 ? nx : 0));
    if (nc == 0) return NG_OK;
    RETURN_IF(check_disjoint(fn, "cols", cols, BYTES(nc, ng_esize(dtype)), "x", x, BYTES(nx, ng_esize(dtype))));
    ng_im2col_run(dtype, N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, x, cols);
    return NG_OK;
}

NG_API ng_status ng_col2im(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
                           int64_t SH, int64_t SW, int64_t PH, int64_t PW, const void *cols, void *x) {
    static const char fn[] = "ng_col2im";
    int64_t OH = 0, OW = 0, nx = 0, nc = 0;
    RETURN_IF(check_conv(fn, dtype, N, C, H, W, KH, KW, SH, SW, PH, PW, &OH, &OW, &nx, &nc));
    RETURN_IF(check_ptr(fn, "cols", cols, nc));
    RETURN_IF(check_ptr(fn, "x", x, nc > 0 ? nx : 0));
    if (nc == 0 || nx == 0) return NG_OK;
    RETURN_IF(check_disjoint(fn, "x", x, BYTES(nx, ng_esize(dtype)), "cols", cols, BYTES(nc, ng_esize(dtype))));
    ng_col2im_run(dtype, N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, cols, x);
    return NG_OK;
}

NG_API ng_status ng_maxpool2d(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
                              int64_t SH, int64_t SW, const void *x, void *y, int64_t *idx) {
    static const char fn[] = "ng_maxpool2d";
    int64_t OH = 0, OW = 0, nx = 0, nc = 0, ny = 0;
    RETURN_IF(check_conv(fn, dtype, N, C, H, W, KH, KW, SH, SW, 0, 0, &OH, &OW, &nx, &nc));
    RETURN_IF(check_prod(fn, "y", &ny, 4, N, C, OH, OW));
    RETURN_IF(check_bytes(fn, "idx", ny, sizeof(int64_t)));
    RETURN_IF(check_ptr(fn, "x", x, ny > 0 ? nx : 0));
    RETURN_IF(check_ptr(fn, "y", y, ny));
    RETURN_IF(check_ptr(fn, "idx", idx, ny));
    if (ny == 0) return NG_OK;
    const size_t es = ng_esize(dtype);
    RETURN_IF(check_disjoint(fn, "y", y, BYTES(ny, es), "x", x, BYTES(nx, es)));
    RETURN_IF(check_disjoint(fn, "idx", idx, BYTES(ny, 8), "x", x, BYTES(nx, es)));
    RETURN_IF(check_disjoint(fn, "idx", idx, BYTES(ny, 8), "y", y, BYTES(ny, es)));
    ng_maxpool2d_run(dtype, N, C, H, W, KH, KW, SH, SW, OH, OW, x, y, idx);
    return NG_OK;
}
