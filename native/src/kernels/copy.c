/*
 * copy.c - N-d strided drivers: ng_copy_strided and the broadcasting binary driver.
 *
 * Both work on a flat range of the logical (row-major) index space so that the range can be split across
 * threads; the innermost dimension is handed to a row kernel (memcpy / the binary row kernel, which
 * vectorises contiguous and broadcast rows), the outer dimensions are walked with an odometer.
 */
#include "ng_internal.h"
#include "ng_threadpool.h"

#define NG_PAR_MIN_ELEMS 262144 /* below this, element-wise work runs on the calling thread */
#define NG_PAR_GRAIN 65536

typedef struct nd_ctx {
    int nd;
    int64_t shape[NG_MAX_DIMS];
    int64_t s0[NG_MAX_DIMS], s1[NG_MAX_DIMS], s2[NG_MAX_DIMS]; /* operand strides (elements) */
    const char *p0, *p1;
    char *p2;
    size_t es;
    ng_binary_fn fn;
    int fence; /* fn may stream (non-temporal stores): fence at the end of each task */
} nd_ctx;

/* start the odometer at flat index pos: fills idx and the offsets of the row start (inner index 0) */
static void nd_seek(const nd_ctx *c, int64_t pos, int64_t *idx, int64_t *o0, int64_t *o1, int64_t *o2) {
    *o0 = *o1 = *o2 = 0;
    for (int d = c->nd - 1; d >= 0; d--) {
        const int64_t i = pos % c->shape[d];
        pos /= c->shape[d];
        idx[d] = i;
        if (d < c->nd - 1) {
            *o0 += i * c->s0[d];
            *o1 += i * c->s1[d];
            *o2 += i * c->s2[d];
        }
    }
}

static void nd_next_row(const nd_ctx *c, int64_t *idx, int64_t *o0, int64_t *o1, int64_t *o2) {
    for (int d = c->nd - 2; d >= 0; d--) {
        idx[d]++;
        *o0 += c->s0[d];
        *o1 += c->s1[d];
        *o2 += c->s2[d];
        if (idx[d] < c->shape[d]) return;
        *o0 -= c->s0[d] * c->shape[d];
        *o1 -= c->s1[d] * c->shape[d];
        *o2 -= c->s2[d] * c->shape[d];
        idx[d] = 0;
    }
}

static void copy_row(size_t es, int64_t n, const char *src, int64_t ss, char *dst, int64_t ds) {
    if (ss == 1 && ds == 1) {
        memcpy(dst, src, (size_t)n * es);
    } else if (es == 4) {
        const uint32_t *s = (const uint32_t *)src;
        uint32_t *d = (uint32_t *)dst;
        for (int64_t i = 0; i < n; i++) d[i * ds] = s[i * ss];
    } else {
        const uint64_t *s = (const uint64_t *)src;
        uint64_t *d = (uint64_t *)dst;
        for (int64_t i = 0; i < n; i++) d[i * ds] = s[i * ss];
    }
}

static void copy_task(void *vctx, int64_t b, int64_t e) {
    const nd_ctx *c = (const nd_ctx *)vctx;
    int64_t idx[NG_MAX_DIMS], o0, o1, o2;
    nd_seek(c, b, idx, &o0, &o1, &o2);
    const int in = c->nd - 1;
    const int64_t inner = c->shape[in];
    int64_t pos = b;
    while (pos < e) {
        const int64_t j = idx[in];
        const int64_t cnt = ng_min64(inner - j, e - pos);
        copy_row(c->es, cnt, c->p0 + (size_t)(o0 + j * c->s0[in]) * c->es, c->s0[in],
                 c->p2 + (size_t)(o2 + j * c->s2[in]) * c->es, c->s2[in]);
        pos += cnt;
        idx[in] = 0;
        if (pos < e) nd_next_row(c, idx, &o0, &o1, &o2);
    }
}

static void binary_task(void *vctx, int64_t b, int64_t e) {
    const nd_ctx *c = (const nd_ctx *)vctx;
    int64_t idx[NG_MAX_DIMS], o0, o1, o2;
    nd_seek(c, b, idx, &o0, &o1, &o2);
    const int in = c->nd - 1;
    const int64_t inner = c->shape[in];
    int64_t pos = b;
    while (pos < e) {
        const int64_t j = idx[in];
        const int64_t cnt = ng_min64(inner - j, e - pos);
        c->fn(cnt, c->p0 + (size_t)(o0 + j * c->s0[in]) * c->es, c->s0[in],
              c->p1 + (size_t)(o1 + j * c->s1[in]) * c->es, c->s1[in], c->p2 + (size_t)pos * c->es);
        pos += cnt;
        idx[in] = 0;
        if (pos < e) nd_next_row(c, idx, &o0, &o1, &o2);
    }
    if (c->fence) ng_store_fence();
}

/* Drop size-1 dims and merge dims that are contiguous with their inner neighbour for every operand.
 * Returns the number of elements. Leaves at least one dim. */
static int64_t nd_coalesce(nd_ctx *c, int ndim, const int64_t *shape, const int64_t *s0, const int64_t *s1,
                           const int64_t *s2) {
    int nd = 0;
    int64_t total = 1;
    for (int d = 0; d < ndim; d++) {
        total *= shape[d];
        if (shape[d] == 1) continue;
        c->shape[nd] = shape[d];
        c->s0[nd] = s0[d];
        c->s1[nd] = s1 ? s1[d] : 0;
        c->s2[nd] = s2[d];
        nd++;
    }
    if (nd == 0) {
        c->shape[0] = 1;
        c->s0[0] = c->s1[0] = c->s2[0] = 0;
        nd = 1;
    }
    /* merge from the inside out: dim d-1 into d */
    int out = nd - 1;
    int64_t sh[NG_MAX_DIMS], a0[NG_MAX_DIMS], a1[NG_MAX_DIMS], a2[NG_MAX_DIMS];
    sh[out] = c->shape[nd - 1];
    a0[out] = c->s0[nd - 1];
    a1[out] = c->s1[nd - 1];
    a2[out] = c->s2[nd - 1];
    for (int d = nd - 2; d >= 0; d--) {
        if (c->s0[d] == a0[out] * sh[out] && c->s1[d] == a1[out] * sh[out] && c->s2[d] == a2[out] * sh[out]) {
            sh[out] *= c->shape[d];
        } else {
            out--;
            sh[out] = c->shape[d];
            a0[out] = c->s0[d];
            a1[out] = c->s1[d];
            a2[out] = c->s2[d];
        }
    }
    c->nd = nd - out;
    for (int d = 0; d < c->nd; d++) {
        c->shape[d] = sh[out + d];
        c->s0[d] = a0[out + d];
        c->s1[d] = a1[out + d];
        c->s2[d] = a2[out + d];
    }
    return total;
}

void ng_copy_run(size_t esize, int ndim, const int64_t *shape, const void *src, const int64_t *ss, void *dst,
                 const int64_t *ds) {
    nd_ctx c;
    int64_t total = nd_coalesce(&c, ndim, shape, ss, NULL, ds);
    if (total == 0) return;
    c.p0 = (const char *)src;
    c.p1 = NULL;
    c.p2 = (char *)dst;
    c.es = esize;
    c.fn = NULL;
    c.fence = 0;
    if (total >= NG_PAR_MIN_ELEMS) ng_parallel_for(total, NG_PAR_GRAIN, copy_task, &c);
    else copy_task(&c, 0, total);
}

/* Binary ops that move at least this many bytes (3 x the output) use the streaming kernels (binary_stream):
 * non-temporal output stores save the read-for-ownership of the output lines and keep the inputs cached.
 * Measured (add f32, 1 thread, Zen 5, 32 MB L3, repeated on the same buffers, us cached vs streamed stores):
 * 1M (12 MB moved) 100 vs 98, 1.25M (15 MB) 127 vs 124, 1.5M (18 MB) 158 vs 151, 1.75M (21 MB) 205 vs 187,
 * 2M (24 MB) 270 vs 229, 4M 810 vs 636, 16M 4546 vs 3296. Below ~24 MB the gain is small and the output would
 * otherwise still be in L3 for the op that reads it next. */
#define NG_BIN_STREAM_BYTES ((size_t)24 << 20)

void ng_binary_run(int dtype, int op, int ndim, const int64_t *shape, const void *a, const int64_t *as,
                   const void *b, const int64_t *bs, void *out) {
    const size_t esize = ng_esize(dtype);
    int64_t os[NG_MAX_DIMS];
    int64_t st = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        os[d] = st;
        st *= shape[d];
    }
    nd_ctx c;
    int64_t total = nd_coalesce(&c, ndim, shape, as, bs, os);
    if (total == 0) return;
    c.p0 = (const char *)a;
    c.p1 = (const char *)b;
    c.p2 = (char *)out;
    c.es = esize;
    c.fence = (size_t)total * esize * 3 >= NG_BIN_STREAM_BYTES;
    c.fn = c.fence ? ng_kernels()->binary_stream[dtype][op] : ng_kernels()->binary[dtype][op];
    if (total >= NG_PAR_MIN_ELEMS) ng_parallel_for(total, NG_PAR_GRAIN, binary_task, &c);
    else binary_task(&c, 0, total);
}
