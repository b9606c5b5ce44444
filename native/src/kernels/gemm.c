/*
 * gemm.c - cache-blocked GEMM driver (BLIS-style loop nest) shared by all kernel paths.
 *
 *   for jc in N by NC:                      B panel  (KC x NC) packed into NR-wide slivers
 *     for pc in K by KC:                    (beta applies to the first K block only)
 *       for ic0 in M by MBIG:               A block  (MBIG x KC) packed into MR-tall slivers
 *         parallel over tiles of (MR slivers x NR slivers):  micro-kernel MR x NR
 *
 * Every output element is produced by exactly one micro-kernel call per K block, with K blocks applied in
 * order, so the result does not depend on the thread count or on how the tile grid is partitioned.
 */
#include "ng_internal.h"
#include "ng_threadpool.h"

#include <stdatomic.h>

typedef struct gemm_ctx {
    const ng_gemm_desc *d;
    size_t es;
    const char *A;
    int64_t rsa, csa; /* element (i, k) of op(A) at A[i*rsa + k*csa] */
    const char *B;
    int64_t rsb, csb; /* element (k, j) of op(B) at B[k*rsb + j*csb] */
    char *C;
    int64_t ldc, M, N, K;
    double alpha, beta;
    /* current blocks */
    int64_t jc, nc, pc, kc, ic0, mrows;
    char *Ap, *Bp;
    int64_t nbs;        /* B slivers still to pack in the current pack region (0 if already packed) */
    int64_t nas;        /* A slivers in the current block */
    int64_t ms, ns;     /* slivers in the current A block / B panel */
    int64_t tm, tn;     /* slivers per task */
    int64_t nbm, nbn;   /* task grid */
} gemm_ctx;

#define PACK_FUNCS(T, SUF)                                                                            \
    static void pack_a_##SUF(const gemm_ctx *g, int64_t s) {                                         \
        const int MR = g->d->mr;                                                                      \
        const int64_t kc = g->kc;                                                                     \
        T *dst = (T *)g->Ap + s * MR * kc;                                                            \
        const int64_t i0 = g->ic0 + s * MR;                                                           \
        const int64_t mr = ng_min64(MR, g->ic0 + g->mrows - i0);                                      \
        const T *src = (const T *)g->A + i0 * g->rsa + g->pc * g->csa;                                \
        if (g->csa == 1) {                                                                            \
            for (int64_t i = 0; i < mr; i++) {                                                        \
                const T *row = src + i * g->rsa;                                                      \
                for (int64_t k = 0; k < kc; k++) dst[k * MR + i] = row[k];                            \
            }                                                                                         \
        } else if (g->rsa == 1) {                                                                     \
            for (int64_t k = 0; k < kc; k++) {                                                        \
                const T *col = src + k * g->csa;                                                      \
                for (int64_t i = 0; i < mr; i++) dst[k * MR + i] = col[i];                            \
            }                                                                                         \
        } else {                                                                                      \
            for (int64_t k = 0; k < kc; k++)                                                          \
                for (int64_t i = 0; i < mr; i++) dst[k * MR + i] = src[i * g->rsa + k * g->csa];      \
        }                                                                                             \
        if (mr < MR)                                                                                  \
            for (int64_t k = 0; k < kc; k++)                                                          \
                for (int64_t i = mr; i < MR; i++) dst[k * MR + i] = 0;                                \
    }                                                                                                 \
    static void pack_b_##SUF(const gemm_ctx *g, int64_t s) {                                         \
        const int NR = g->d->nr;                                                                      \
        const int64_t kc = g->kc;                                                                     \
        T *dst = (T *)g->Bp + s * NR * kc;                                                            \
        const int64_t j0 = g->jc + s * NR;                                                            \
        const int64_t nr = ng_min64(NR, g->jc + g->nc - j0);                                          \
        const T *src = (const T *)g->B + g->pc * g->rsb + j0 * g->csb;                                \
        if (g->csb == 1) {                                                                            \
            for (int64_t k = 0; k < kc; k++) {                                                        \
                const T *row = src + k * g->rsb;                                                      \
                T *o = dst + k * NR;                                                                  \
                for (int64_t j = 0; j < nr; j++) o[j] = row[j];                                       \
                for (int64_t j = nr; j < NR; j++) o[j] = 0;                                           \
            }                                                                                         \
        } else {                                                                                      \
            for (int64_t j = 0; j < nr; j++) {                                                        \
                const T *col = src + j * g->csb;                                                      \
                for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = col[k * g->rsb];                   \
            }                                                                                         \
            if (nr < NR)                                                                              \
                for (int64_t k = 0; k < kc; k++)                                                      \
                    for (int64_t j = nr; j < NR; j++) dst[k * NR + j] = 0;                            \
        }                                                                                             \
    }                                                                                                 \
    static void merge_##SUF(const T *tmp, int nrt, T *c, int64_t ldc, int64_t mr, int64_t nr,        \
                            double beta_) {                                                           \
        const T beta = (T)beta_;                                                                      \
        for (int64_t i = 0; i < mr; i++)                                                              \
            for (int64_t j = 0; j < nr; j++)                                                          \
                c[i * ldc + j] = beta_ == 0.0 ? tmp[i * nrt + j] : tmp[i * nrt + j] + beta * c[i * ldc + j]; \
    }                                                                                                 \
    static void scale_c_##SUF(T *c, int64_t ldc, int64_t M, int64_t N, double beta_) {               \
        const T beta = (T)beta_;                                                                      \
        for (int64_t i = 0; i < M; i++) {                                                             \
            T *row = c + i * ldc;                                                                     \
            if (beta_ == 0.0)                                                                         \
                for (int64_t j = 0; j < N; j++) row[j] = 0;                                           \
            else if (beta_ != 1.0)                                                                    \
                for (int64_t j = 0; j < N; j++) row[j] *= beta;                                       \
        }                                                                                             \
    }
PACK_FUNCS(float, f32)
PACK_FUNCS(double, f64)

static void pack_task(void *vctx, int64_t b, int64_t e) {
    const gemm_ctx *g = (const gemm_ctx *)vctx;
    const int f32 = g->es == 4;
    for (int64_t s = b; s < e; s++) {
        if (s < g->nbs) {
            if (f32) pack_b_f32(g, s);
            else pack_b_f64(g, s);
        } else {
            if (f32) pack_a_f32(g, s - g->nbs);
            else pack_a_f64(g, s - g->nbs);
        }
    }
}

static void compute_task(void *vctx, int64_t b, int64_t e) {
    const gemm_ctx *g = (const gemm_ctx *)vctx;
    const ng_gemm_desc *d = g->d;
    const int MR = d->mr, NR = d->nr;
    const size_t es = g->es;
    const int64_t kc = g->kc;
    _Alignas(64) double tmp[512]; /* MR*NR*es <= 4096 bytes */
    for (int64_t t = b; t < e; t++) {
        const int64_t bi = t % g->nbm, bj = t / g->nbm;
        const int64_t jr_end = ng_min64(g->ns, (bj + 1) * g->tn), ir_end = ng_min64(g->ms, (bi + 1) * g->tm);
        for (int64_t jr = bj * g->tn; jr < jr_end; jr++) {
            const int64_t j0 = g->jc + jr * NR;
            const int64_t nr = ng_min64(NR, g->jc + g->nc - j0);
            const char *bp = g->Bp + (size_t)(jr * NR * kc) * es;
            for (int64_t ir = bi * g->tm; ir < ir_end; ir++) {
                const int64_t i0 = g->ic0 + ir * MR;
                const int64_t mr = ng_min64(MR, g->ic0 + g->mrows - i0);
                const char *ap = g->Ap + (size_t)(ir * MR * kc) * es;
                char *c = g->C + (size_t)(i0 * g->ldc + j0) * es;
                if (mr == MR && nr == NR) {
                    d->ukr(kc, ap, bp, c, g->ldc, g->alpha, g->beta);
                } else {
                    d->ukr(kc, ap, bp, tmp, NR, g->alpha, 0.0);
                    if (es == 4) merge_f32((const float *)tmp, NR, (float *)c, g->ldc, mr, nr, g->beta);
                    else merge_f64(tmp, NR, (double *)c, g->ldc, mr, nr, g->beta);
                }
            }
        }
    }
}

/* Tiny products (at most NG_GEMM_TINY multiply-adds, e.g. a vector times a 5x3 weight): a direct loop. Packing
 * panels and running the register-blocked micro-kernel cost ~150 ns of fixed work, which is most of such a call.
 * beta == 0 never reads C (as the packed path). */
#define NG_GEMM_TINY 512
#define GEMM_TINY(T, name)                                                                                   \
    static void name(const T *A, int64_t rsa, int64_t csa, const T *B, int64_t rsb, int64_t csb, T *C,        \
                     int64_t ldc, int64_t M, int64_t N, int64_t K, T alpha, T beta) {                        \
        for (int64_t i = 0; i < M; i++)                                                                      \
            for (int64_t j = 0; j < N; j++) {                                                                \
                T acc = 0;                                                                                   \
                for (int64_t k = 0; k < K; k++) acc += A[i * rsa + k * csa] * B[k * rsb + j * csb];         \
                T *c = C + i * ldc + j;                                                                      \
                *c = beta == 0 ? alpha * acc : alpha * acc + beta * *c;                                      \
            }                                                                                                \
    }
GEMM_TINY(float, gemm_tiny_f32)
GEMM_TINY(double, gemm_tiny_f64)

/* One matrix product. parallel: allow use of the thread pool. Returns NG_OK or NG_ERR_OUT_OF_MEMORY. */
static ng_status gemm_one(const ng_gemm_desc *d, size_t es, const char *A, int64_t rsa, int64_t csa,
                          const char *B, int64_t rsb, int64_t csb, char *C, int64_t ldc, int64_t M, int64_t N,
                          int64_t K, double alpha, double beta, int parallel) {
    if (M == 0 || N == 0) return NG_OK;
    if (K == 0 || alpha == 0.0) {
        if (es == 4) scale_c_f32((float *)C, ldc, M, N, beta);
        else scale_c_f64((double *)C, ldc, M, N, beta);
        return NG_OK;
    }
    if ((double)M * (double)N * (double)K <= NG_GEMM_TINY) {
        if (es == 4)
            gemm_tiny_f32((const float *)A, rsa, csa, (const float *)B, rsb, csb, (float *)C, ldc, M, N, K,
                          (float)alpha, (float)beta);
        else
            gemm_tiny_f64((const double *)A, rsa, csa, (const double *)B, rsb, csb, (double *)C, ldc, M, N, K,
                          alpha, beta);
        return NG_OK;
    }
    const int MR = d->mr, NR = d->nr;
    const int64_t KC = d->kc, NC = d->nc;
    const int64_t MBIG = d->mc * 8;
    const int64_t ncmax = ng_min64(NC, (N + NR - 1) / NR * NR);
    const int64_t kcmax = ng_min64(KC, K);
    const int64_t mbmax = ng_min64(MBIG, (M + MR - 1) / MR * MR);
    char *Bp = (char *)ng_scratch(NG_SCRATCH_GEMM_B, (size_t)(kcmax * ncmax) * es);
    char *Ap = (char *)ng_scratch(NG_SCRATCH_GEMM_A, (size_t)(kcmax * mbmax) * es);
    if (!Bp || !Ap) return NG_ERR_OUT_OF_MEMORY;

    const int nthreads = parallel ? ng_pool_threads() : 1;
    gemm_ctx g;
    memset(&g, 0, sizeof g);
    g.d = d;
    g.es = es;
    g.A = A; g.rsa = rsa; g.csa = csa;
    g.B = B; g.rsb = rsb; g.csb = csb;
    g.C = C; g.ldc = ldc;
    g.M = M; g.N = N; g.K = K;
    g.alpha = alpha;
    g.Ap = Ap;
    g.Bp = Bp;
    for (int64_t jc = 0; jc < N; jc += NC) {
        g.jc = jc;
        g.nc = ng_min64(NC, N - jc);
        g.ns = (g.nc + NR - 1) / NR;
        for (int64_t pc = 0; pc < K; pc += KC) {
            g.pc = pc;
            g.kc = ng_min64(KC, K - pc);
            g.beta = pc == 0 ? beta : 1.0;
            g.nbs = g.ns;
            for (int64_t ic0 = 0; ic0 < M; ic0 += MBIG) {
                g.ic0 = ic0;
                g.mrows = ng_min64(MBIG, M - ic0);
                g.ms = (g.mrows + MR - 1) / MR;
                g.nas = g.ms;
                /* task grid */
                const int64_t target = nthreads > 1 ? 4 * (int64_t)nthreads : 1;
                g.tm = d->mc / MR;
                g.tn = g.ns;
                g.nbm = (g.ms + g.tm - 1) / g.tm;
                if (g.nbm < target) {
                    g.tm = ng_max64(1, (g.ms + target - 1) / target);
                    g.nbm = (g.ms + g.tm - 1) / g.tm;
                }
                g.nbn = 1;
                if (g.nbm < target) {
                    int64_t want = ng_min64(g.ns, (target + g.nbm - 1) / g.nbm);
                    g.tn = (g.ns + want - 1) / want;
                    g.nbn = (g.ns + g.tn - 1) / g.tn;
                }
                if (nthreads > 1) {
                    ng_parallel_for(g.nbs + g.nas, 4, pack_task, &g);
                    ng_parallel_for(g.nbm * g.nbn, 1, compute_task, &g);
                } else {
                    pack_task(&g, 0, g.nbs + g.nas);
                    compute_task(&g, 0, g.nbm * g.nbn);
                }
                g.nbs = 0; /* B panel stays packed for the remaining A blocks */
            }
        }
    }
    return NG_OK;
}

/* Matrix i of a batch. A and B may be NULL when they are not read (K == 0): no arithmetic on NULL then. */
static inline const char *batch_entry(const void *p, int64_t i, int64_t stride, size_t es) {
    return p ? (const char *)p + (size_t)(i * stride) * es : NULL;
}

typedef struct batch_ctx {
    const ng_gemm_desc *d;
    size_t es;
    const char *A, *B;
    char *C;
    int64_t rsa, csa, rsb, csb, ldc, M, N, K, sa, sb, sc;
    double alpha, beta;
    _Atomic int failed;
} batch_ctx;

static void batch_task(void *vctx, int64_t b, int64_t e) {
    batch_ctx *c = (batch_ctx *)vctx;
    for (int64_t i = b; i < e; i++) {
        ng_status st = gemm_one(c->d, c->es, batch_entry(c->A, i, c->sa, c->es), c->rsa, c->csa,
                                batch_entry(c->B, i, c->sb, c->es), c->rsb, c->csb,
                                c->C + (size_t)(i * c->sc) * c->es, c->ldc, c->M, c->N, c->K, c->alpha, c->beta, 0);
        if (st != NG_OK) atomic_store(&c->failed, 1);
    }
}

ng_status ng_gemm_run(int dtype, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                      const void *A, int64_t lda, int64_t stride_a, const void *B, int64_t ldb,
                      int64_t stride_b, double beta, void *C, int64_t ldc, int64_t stride_c, int64_t batch) {
    if (M == 0 || N == 0 || batch == 0) return NG_OK;
    if (K == 0 || alpha == 0.0) A = B = NULL; /* not read; with K == 0 their strides were not even validated */
    const ng_gemm_desc *d = &ng_kernels()->gemm[dtype];
    const size_t es = ng_esize(dtype);
    const int64_t rsa = trans_a ? 1 : lda, csa = trans_a ? lda : 1;
    const int64_t rsb = trans_b ? 1 : ldb, csb = trans_b ? ldb : 1;
    const double flops = (double)M * (double)N * (double)K;
    const int threads = ng_pool_threads();
    /* below ~100^3 a product takes a few microseconds on one core: splitting it gains about a microsecond when
     * the second core is idle and loses several when it is busy (a claimed tile waits for its descheduled thread) */
    const int par = threads > 1 && flops >= 1.0e6;
    /* distinct, non-overlapping outputs per batch entry can be computed concurrently */
    const int disjoint = stride_c >= (M - 1) * ldc + N;
    if (batch > 1 && threads > 1 && disjoint && (flops < 2097152.0 || batch >= 4 * threads)) {
        batch_ctx c;
        c.d = d; c.es = es;
        c.A = (const char *)A; c.B = (const char *)B; c.C = (char *)C;
        c.rsa = rsa; c.csa = csa; c.rsb = rsb; c.csb = csb; c.ldc = ldc;
        c.M = M; c.N = N; c.K = K; c.sa = stride_a; c.sb = stride_b; c.sc = stride_c;
        c.alpha = alpha; c.beta = beta;
        atomic_init(&c.failed, 0);
        int64_t grain = flops >= 65536.0 ? 1 : (int64_t)(65536.0 / (flops + 1.0)) + 1;
        ng_parallel_for(batch, grain, batch_task, &c);
        if (atomic_load(&c.failed)) return ng_fail(NG_ERR_OUT_OF_MEMORY, "ng_gemm: out of memory for packing buffers");
        return NG_OK;
    }
    for (int64_t i = 0; i < batch; i++) {
        ng_status st = gemm_one(d, es, batch_entry(A, i, stride_a, es), rsa, csa,
                                batch_entry(B, i, stride_b, es), rsb, csb,
                                (char *)C + (size_t)(i * stride_c) * es, ldc, M, N, K, alpha, beta, par);
        if (st != NG_OK) return ng_fail(st, "ng_gemm: out of memory for packing buffers");
    }
    return NG_OK;
}
