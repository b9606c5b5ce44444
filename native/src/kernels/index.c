/*
 * index.c - index_select / index_add / gather / scatter_add (indices validated by the API layer).
 * Parallel splits never let two tasks write the same output element, so results are deterministic.
 * Every index is read once and range-checked again where it is used: if another thread rewrites the index array
 * after the API layer validated it (a data race in the caller), a stale index reads as 0 / adds nothing instead
 * of reaching outside x or y.
 */
#include "ng_internal.h"
#include "ng_threadpool.h"

#define NG_IDX_PAR_MIN 131072

typedef struct idx_ctx {
    size_t es;
    int dtype;
    int64_t outer, dim, inner, nidx, chunk, nchunks;
    const char *x;
    const int64_t *idx;
    char *y;
} idx_ctx;

/* ---- index_select: items are (o, j) rows of `inner` elements */
static void select_task(void *v, int64_t b, int64_t e) {
    const idx_ctx *c = (const idx_ctx *)v;
    const size_t row = (size_t)c->inner * c->es;
    for (int64_t t = b; t < e; t++) {
        const int64_t o = t / c->nidx, j = t % c->nidx, k = c->idx[j];
        if (NG_UNLIKELY((uint64_t)k >= (uint64_t)c->dim)) { memset(c->y + (size_t)t * row, 0, row); continue; }
        memcpy(c->y + (size_t)t * row, c->x + (size_t)(o * c->dim + k) * row, row);
    }
}

void ng_index_select_run(size_t es, int64_t outer, int64_t dim, int64_t inner, const void *x,
                         const int64_t *idx, int64_t nidx, void *y) {
    idx_ctx c = {es, 0, outer, dim, inner, nidx, 0, 0, (const char *)x, idx, (char *)y};
    const int64_t items = outer * nidx;
    if (items == 0 || inner == 0) return;
    if (items * inner >= NG_IDX_PAR_MIN) ng_parallel_for(items, ng_max64(1, 16384 / inner), select_task, &c);
    else select_task(&c, 0, items);
}

/* ---- index_add: items are (o, column chunk); every j is applied in order inside an item */
#define INDEX_ADD(T, SUF)                                                                             \
    static void index_add_task_##SUF(void *v, int64_t b, int64_t e) {                                \
        const idx_ctx *c = (const idx_ctx *)v;                                                        \
        for (int64_t t = b; t < e; t++) {                                                             \
            const int64_t o = t / c->nchunks, i0 = (t % c->nchunks) * c->chunk;                       \
            const int64_t w = ng_min64(c->chunk, c->inner - i0);                                      \
            const T *x = (const T *)c->x + o * c->nidx * c->inner + i0;                               \
            T *y = (T *)c->y + o * c->dim * c->inner + i0;                                            \
            for (int64_t j = 0; j < c->nidx; j++) {                                                   \
                const int64_t k = c->idx[j];                                                          \
                if (NG_UNLIKELY((uint64_t)k >= (uint64_t)c->dim)) continue;                           \
                const T *xr = x + j * c->inner;                                                       \
                T *yr = y + k * c->inner;                                                             \
                for (int64_t i = 0; i < w; i++) yr[i] += xr[i];                                       \
            }                                                                                         \
        }                                                                                             \
    }
INDEX_ADD(float, f32)
INDEX_ADD(double, f64)

void ng_index_add_run(int dtype, int64_t outer, int64_t dim, int64_t inner, const void *x, const int64_t *idx,
                      int64_t nidx, void *y) {
    if (outer == 0 || inner == 0 || nidx == 0) return;
    idx_ctx c = {ng_esize(dtype), dtype, outer, dim, inner, nidx, 0, 0, (const char *)x, idx, (char *)y};
    c.chunk = inner <= 1024 ? inner : 1024;
    c.nchunks = (inner + c.chunk - 1) / c.chunk;
    ng_task_fn fn = dtype == NG_F32 ? index_add_task_f32 : index_add_task_f64;
    const int64_t items = outer * c.nchunks;
    if (outer * nidx * inner >= NG_IDX_PAR_MIN) ng_parallel_for(items, 1, fn, &c);
    else fn(&c, 0, items);
}

/* ---- gather / scatter_add: items are flat (o, i) positions; scatter targets (o, idx, i) are distinct */
#define GATHER(T, SUF)                                                                                \
    static void gather_task_##SUF(void *v, int64_t b, int64_t e) {                                   \
        const idx_ctx *c = (const idx_ctx *)v;                                                        \
        const T *x = (const T *)c->x;                                                                 \
        T *y = (T *)c->y;                                                                             \
        for (int64_t t = b; t < e; t++) {                                                             \
            const int64_t o = t / c->inner, i = t % c->inner, k = c->idx[t];                          \
            y[t] = NG_LIKELY((uint64_t)k < (uint64_t)c->dim) ? x[(o * c->dim + k) * c->inner + i] : (T)0; \
        }                                                                                             \
    }                                                                                                 \
    static void scatter_add_task_##SUF(void *v, int64_t b, int64_t e) {                              \
        const idx_ctx *c = (const idx_ctx *)v;                                                        \
        const T *x = (const T *)c->x;                                                                 \
        T *y = (T *)c->y;                                                                             \
        for (int64_t t = b; t < e; t++) {                                                             \
            const int64_t o = t / c->inner, i = t % c->inner, k = c->idx[t];                          \
            if (NG_LIKELY((uint64_t)k < (uint64_t)c->dim)) y[(o * c->dim + k) * c->inner + i] += x[t]; \
        }                                                                                             \
    }
GATHER(float, f32)
GATHER(double, f64)

void ng_gather_run(size_t es, int64_t outer, int64_t dim, int64_t inner, const void *x, const int64_t *idx,
                   void *y) {
    idx_ctx c = {es, 0, outer, dim, inner, 0, 0, 0, (const char *)x, idx, (char *)y};
    const int64_t n = outer * inner;
    if (n == 0) return;
    ng_task_fn fn = es == 4 ? gather_task_f32 : gather_task_f64;
    if (n >= NG_IDX_PAR_MIN) ng_parallel_for(n, 32768, fn, &c);
    else fn(&c, 0, n);
}

void ng_scatter_add_run(int dtype, int64_t outer, int64_t dim, int64_t inner, const void *x,
                        const int64_t *idx, void *y) {
    idx_ctx c = {ng_esize(dtype), dtype, outer, dim, inner, 0, 0, 0, (const char *)x, idx, (char *)y};
    const int64_t n = outer * inner;
    if (n == 0) return;
    ng_task_fn fn = dtype == NG_F32 ? scatter_add_task_f32 : scatter_add_task_f64;
    if (n >= NG_IDX_PAR_MIN) ng_parallel_for(n, 32768, fn, &c);
    else fn(&c, 0, n);
}
