/*
 * drivers.c - threading drivers for unary / fill / reduce / softmax over the current kernel table.
 *
 * Determinism: reductions are split into fixed-size work items (independent of the thread count) whose
 * partial results are combined in a fixed order, so results are bitwise identical for any thread count.
 */
#include "ng_internal.h"
#include "ng_threadpool.h"

#include <inttypes.h>
#include <math.h>

/* ---------------------------------------------------------------------------------------------- unary */
typedef struct un_ctx {
    ng_unary_fn fn;
    const char *x;
    char *y;
    size_t es;
    double a, b;
} un_ctx;

static void unary_task(void *v, int64_t b, int64_t e) {
    const un_ctx *c = (const un_ctx *)v;
    c->fn(e - b, c->x + (size_t)b * c->es, c->y + (size_t)b * c->es, c->a, c->b);
}

static int unary_is_cheap(int op) {
    switch (op) {
    case NG_UNARY_NEG: case NG_UNARY_ABS: case NG_UNARY_RELU: case NG_UNARY_SQUARE: case NG_UNARY_AFFINE:
    case NG_UNARY_GT_SCALAR: case NG_UNARY_LT_SCALAR: case NG_UNARY_GE_SCALAR: case NG_UNARY_LE_SCALAR:
    case NG_UNARY_CLAMP: case NG_UNARY_LEAKY_RELU: case NG_UNARY_SIGN: case NG_UNARY_RECIPROCAL:
    case NG_UNARY_SQRT: case NG_UNARY_RSQRT:
        return 1;
    default:
        return 0;
    }
}

void ng_unary_run(int dtype, int op, int64_t n, const void *x, void *y, double alpha, double beta) {
    un_ctx c = {ng_kernels()->unary[dtype][op], (const char *)x, (char *)y, ng_esize(dtype), alpha, beta};
    const int64_t grain = unary_is_cheap(op) ? 65536 : 8192;
    if (n >= 4 * grain) ng_parallel_for(n, grain, unary_task, &c);
    else c.fn(n, x, y, alpha, beta);
}

/* ----------------------------------------------------------------------------------------------- fill */
typedef struct fill_ctx {
    char *p;
    int dtype;
    double v;
} fill_ctx;

static void fill_task(void *vc, int64_t b, int64_t e) {
    const fill_ctx *c = (const fill_ctx *)vc;
    if (c->dtype == NG_F32) {
        float *p = (float *)c->p, v = (float)c->v;
        for (int64_t i = b; i < e; i++) p[i] = v;
    } else {
        double *p = (double *)c->p, v = c->v;
        for (int64_t i = b; i < e; i++) p[i] = v;
    }
}

void ng_fill_run(int dtype, int64_t n, void *dst, double value) {
    fill_ctx c = {(char *)dst, dtype, value};
    if (n >= 1048576) ng_parallel_for(n, 262144, fill_task, &c);
    else fill_task(&c, 0, n);
}

/* --------------------------------------------------------------------------------------------- reduce */
#define NG_ROW_CHUNK 32768 /* elements per partial for long rows: fixed, so results ignore thread count */
#define NG_COL_TILE 256

typedef struct red_ctx {
    ng_reduce_row_fn row;
    ng_reduce_cols_fn cols;
    const char *x;
    char *y;
    size_t es;
    int dtype, op;
    int64_t outer, n, inner, nch, ntiles;
    double *part;
} red_ctx;

static double combine(int op, double a, double b) {
    switch (op) {
    case NG_REDUCE_SUM: return a + b;
    case NG_REDUCE_PROD: return a * b;
    case NG_REDUCE_MAX: return (a != a || b != b) ? a + b : (a > b ? a : b);
    default: return (a != a || b != b) ? a + b : (a < b ? a : b);
    }
}

/* pairwise combination of partials (fixed order) */
static double combine_tree(int op, const double *p, int64_t n) {
    if (n == 1) return p[0];
    if (n == 2) return combine(op, p[0], p[1]);
    int64_t h = n / 2;
    return combine(op, combine_tree(op, p, h), combine_tree(op, p + h, n - h));
}

static void store_result(const red_ctx *c, int64_t i, double v) {
    if (c->dtype == NG_F32) ((float *)c->y)[i] = (float)v;
    else ((double *)c->y)[i] = v;
}

static void rows_task(void *v, int64_t b, int64_t e) { /* items = rows, n <= chunk */
    const red_ctx *c = (const red_ctx *)v;
    for (int64_t o = b; o < e; o++) store_result(c, o, c->row(c->n, c->x + (size_t)(o * c->n) * c->es));
}

static void partial_task(void *v, int64_t b, int64_t e) { /* items = (row, chunk) */
    const red_ctx *c = (const red_ctx *)v;
    for (int64_t t = b; t < e; t++) {
        const int64_t o = t / c->nch, k = t % c->nch;
        const int64_t s = k * NG_ROW_CHUNK, len = ng_min64(NG_ROW_CHUNK, c->n - s);
        c->part[t] = c->row(len, c->x + (size_t)(o * c->n + s) * c->es);
    }
}

static void cols_task(void *v, int64_t b, int64_t e) { /* items = (outer, column tile) */
    const red_ctx *c = (const red_ctx *)v;
    for (int64_t t = b; t < e; t++) {
        const int64_t o = t / c->ntiles, j0 = (t % c->ntiles) * NG_COL_TILE;
        const int64_t w = ng_min64(NG_COL_TILE, c->inner - j0);
        c->cols(c->n, w, c->inner, c->x + (size_t)(o * c->n * c->inner + j0) * c->es,
                c->y + (size_t)(o * c->inner + j0) * c->es);
    }
}

ng_status ng_reduce_run(int dtype, int op, int64_t outer, int64_t n, int64_t inner, const void *x, void *y) {
    const int64_t nout = outer * inner;
    if (nout == 0) return NG_OK;
    if (n == 0) {
        const double id = op == NG_REDUCE_SUM ? 0.0 : op == NG_REDUCE_PROD ? 1.0 : op == NG_REDUCE_MAX ? -INFINITY : INFINITY;
        ng_fill_run(dtype, nout, y, id);
        return NG_OK;
    }
    const ng_kernel_table *t = ng_kernels();
    red_ctx c;
    memset(&c, 0, sizeof c);
    c.row = t->reduce_row[dtype][op];
    c.cols = t->reduce_cols[dtype][op];
    c.x = (const char *)x;
    c.y = (char *)y;
    c.es = ng_esize(dtype);
    c.dtype = dtype;
    c.op = op;
    c.outer = outer;
    c.n = n;
    c.inner = inner;
    const int64_t total = outer * n * inner;
    const int par = total >= 262144;
    if (inner == 1) {
        if (n <= NG_ROW_CHUNK) {
            if (par) ng_parallel_for(outer, ng_max64(1, 65536 / n), rows_task, &c);
            else rows_task(&c, 0, outer);
            return NG_OK;
        }
        c.nch = (n + NG_ROW_CHUNK - 1) / NG_ROW_CHUNK;
        const int64_t items = outer * c.nch;
        c.part = (double *)ng_scratch(NG_SCRATCH_REDUCE, (size_t)items * sizeof(double));
        if (!c.part) return ng_fail(NG_ERR_OUT_OF_MEMORY, "ng_reduce: out of memory (%" PRId64 " partials)", items);
        if (par) ng_parallel_for(items, 2, partial_task, &c);
        else partial_task(&c, 0, items);
        for (int64_t o = 0; o < outer; o++) store_result(&c, o, combine_tree(op, c.part + o * c.nch, c.nch));
        return NG_OK;
    }
    c.ntiles = (inner + NG_COL_TILE - 1) / NG_COL_TILE;
    const int64_t items = outer * c.ntiles;
    if (par) ng_parallel_for(items, ng_max64(1, 65536 / (n * ng_min64(inner, NG_COL_TILE))), cols_task, &c);
    else cols_task(&c, 0, items);
    return NG_OK;
}

/* -------------------------------------------------------------------------------------------- softmax */
/* Softmax (backward) calls that move at least this many bytes (inputs + output) write their output with
 * non-temporal stores (NG_SM_STREAM): then the output does not stay in the caches anyway, and streaming saves the
 * read-for-ownership of every output line and keeps the inputs cached. Measured (A/B interleaved in one process,
 * Zen 5, 32 MB L3, rows x 1024 f32, best of 10 x 9 rounds, us streamed vs cached stores, 1 thread):
 *   forward  1024 rows (8 MB moved) 196 vs 196, 1536 (12 MB) 301 vs 296, 2048 (16 MB) 409 vs 417,
 *            2560 (20 MB) 510 vs 512, 3072 (24 MB) 602 vs 688, 4096 (32 MB) 892 vs 1007 (2 threads 444 vs 514)
 *   backward 1024 rows (12 MB moved) 102 vs 106, 1536 (18 MB) 155 vs 169, 2048 (24 MB) 216 vs 273,
 *            8192 (96 MB) 1931 vs 2070 (2 threads 1610 vs 1855)
 * Below ~24 MB the gain is small or nil, while a cached output is still in L2/L3 for the op that reads it next
 * (which this benchmark does not see). */
#define NG_SM_STREAM_BYTES ((size_t)24 << 20)

/* The row flags of a (backward) softmax call: log, and streamed stores once the call moves NG_SM_STREAM_BYTES
 * (`arrays` rows x cols arrays read or written). */
static int sm_flags(int log, int64_t rows, int64_t cols, size_t es, int arrays) {
    return (log ? NG_SM_LOG : 0) | ((size_t)(rows * cols) * es * (size_t)arrays >= NG_SM_STREAM_BYTES ? NG_SM_STREAM : 0);
}

/* Runs task over the rows, in parallel from 65,536 elements, ~16K elements per chunk. */
static void sm_over_rows(int64_t rows, int64_t cols, ng_task_fn task, void *ctx) {
    if (rows > 1 && rows * cols >= 65536) ng_parallel_for(rows, ng_max64(1, 16384 / cols), task, ctx);
    else task(ctx, 0, rows);
}

typedef struct sm_ctx {
    ng_softmax_row_fn fn;
    const char *x;
    char *y;
    size_t es;
    int64_t cols;
    int flags;
} sm_ctx;

static void softmax_task(void *v, int64_t b, int64_t e) {
    const sm_ctx *c = (const sm_ctx *)v;
    for (int64_t r = b; r < e; r++)
        c->fn(c->cols, c->x + (size_t)(r * c->cols) * c->es, c->y + (size_t)(r * c->cols) * c->es, c->flags);
    if (c->flags & NG_SM_STREAM) ng_store_fence();
}

void ng_softmax_run(int dtype, int log, int64_t rows, int64_t cols, const void *x, void *y) {
    if (rows == 0 || cols == 0) return;
    const size_t es = ng_esize(dtype);
    sm_ctx c = {ng_kernels()->softmax_row[dtype], (const char *)x, (char *)y, es, cols, sm_flags(log, rows, cols, es, 2)};
    sm_over_rows(rows, cols, softmax_task, &c);
}

typedef struct smb_ctx {
    ng_softmax_bwd_row_fn fn;
    const char *y, *g;
    char *dx;
    size_t es;
    int64_t cols;
    int flags;
} smb_ctx;

static void softmax_bwd_task(void *v, int64_t b, int64_t e) {
    const smb_ctx *c = (const smb_ctx *)v;
    for (int64_t r = b; r < e; r++) {
        const size_t off = (size_t)(r * c->cols) * c->es;
        c->fn(c->cols, c->y + off, c->g + off, c->dx + off, c->flags);
    }
    if (c->flags & NG_SM_STREAM) ng_store_fence();
}

/* Row order: 0..rows-1 like the forward. Walking the backward's rows from the end instead (the rows the forward
 * touched last first, hoping for L3 hits; results could not change, a row reads only its own rows of y and g) was
 * measured and rejected (4096 x 1024 f32, forward then backward, Zen 5 VM, 32 MB L3, best of 10 x 9-11 rounds,
 * variants interleaved in one process):
 *  - a forward moving >= NG_SM_STREAM_BYTES (this one: 32 MB) writes y with non-temporal stores, so no line of y is
 *    cached when the backward starts, whatever its order (the rows of x left in L3 are not read by the backward);
 *  - rows in descending order defeat the hardware prefetchers: log_softmax pair 1758 -> 3910 us (1 thread);
 *    descending blocks of 16 / 64 / 256 / 512 ascending rows: 2042 / 1964 / 1888 / ~2010 vs 1760-1930 us, no gain;
 *  - cached forward stores (y kept in L3) + descending blocks: softmax backward ~1010 -> ~935 us but its forward
 *    ~912 -> ~1040 us (forward alone 810 -> 946 us), pairs equal or slower; at 2 threads no robust gain either.
 *  - log_softmax's backward is bound by its exp per element, not memory: 706 us with y and g in L3 vs 708 us from
 *    DRAM at 1 thread (softmax's backward: 445 vs 736 us). */
void ng_softmax_backward_run(int dtype, int log, int64_t rows, int64_t cols, const void *y, const void *g, void *dx) {
    if (rows == 0 || cols == 0) return;
    const size_t es = ng_esize(dtype);
    smb_ctx c = {ng_kernels()->softmax_bwd_row[dtype], (const char *)y, (const char *)g, (char *)dx, es, cols,
                 sm_flags(log, rows, cols, es, 3)};
    sm_over_rows(rows, cols, softmax_bwd_task, &c);
}
