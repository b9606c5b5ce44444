/* test_threads.c - results must not depend on the thread count (bitwise), and concurrent callers from
 * several threads must get correct results without deadlock. */
#define _POSIX_C_SOURCE 200809L
#include "test_common.h"

#include <pthread.h>

static void fill_rand(float *p, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)rng_uniform(lo, hi);
}

static void check_independence(const char *path) {
    const int64_t n = 8 * 1024 * 1024 + 17;
    float *x = (float *)xmalloc((size_t)n * 4);
    fill_rand(x, n, -1, 1);
    float s1[16], s2[16], c1[1024], c2[1024];
    double d1, d2;
    double *xd = (double *)xmalloc((size_t)n * 8);
    for (int64_t i = 0; i < n; i++) xd[i] = x[i];
    const int64_t M = 300, N = 513, K = 257;
    float *A = (float *)xmalloc(M * K * 4), *B = (float *)xmalloc(K * N * 4);
    float *C1 = (float *)xmalloc(M * N * 4), *C2 = (float *)xmalloc(M * N * 4);
    double *Ad = (double *)xmalloc(M * K * 8), *Bd = (double *)xmalloc(K * N * 8);
    double *Cd1 = (double *)xmalloc(M * N * 8), *Cd2 = (double *)xmalloc(M * N * 8);
    fill_rand(A, M * K, -1, 1);
    fill_rand(B, K * N, -1, 1);
    for (int64_t i = 0; i < M * K; i++) Ad[i] = A[i];
    for (int64_t i = 0; i < K * N; i++) Bd[i] = B[i];
    float *sm1 = (float *)xmalloc(1000 * 700 * 4), *sm2 = (float *)xmalloc(1000 * 700 * 4);
    for (int t = 1; t <= 2; t++) {
        CHECK(ng_set_threads(t == 1 ? 1 : 2) == NG_OK, "set threads");
        float *s = t == 1 ? s1 : s2, *c = t == 1 ? c1 : c2, *C = t == 1 ? C1 : C2;
        double *Cd = t == 1 ? Cd1 : Cd2, *d = t == 1 ? &d1 : &d2;
        CHECK(ng_reduce(NG_F32, NG_REDUCE_SUM, 1, n, 1, x, s) == NG_OK, "sum");
        CHECK(ng_reduce(NG_F32, NG_REDUCE_SUM, 8, n / 8, 1, x, s + 1) == NG_OK, "sum rows");
        CHECK(ng_reduce(NG_F32, NG_REDUCE_SUM, 1, n / 1024, 1024, x, c) == NG_OK, "col sum");
        CHECK(ng_reduce(NG_F64, NG_REDUCE_SUM, 1, n, 1, xd, d) == NG_OK, "sum f64");
        CHECK(ng_gemm(NG_F32, 0, 0, M, N, K, 1, A, K, 0, B, N, 0, 0, C, N, 0, 1) == NG_OK, "gemm");
        CHECK(ng_gemm(NG_F64, 1, 1, M, N, K, 1, Ad, M, 0, Bd, K, 0, 0, Cd, N, 0, 1) == NG_OK, "gemm f64");
        CHECK(ng_softmax(NG_F32, 0, 1000, 700, x, t == 1 ? sm1 : sm2) == NG_OK, "softmax");
    }
    CHECK(memcmp(s1, s2, 9 * 4) == 0, "%s sums differ between 1 and 2 threads: %.9g vs %.9g", path, s1[0], s2[0]);
    CHECK(memcmp(c1, c2, sizeof c1) == 0, "%s column sums differ between 1 and 2 threads", path);
    CHECK(memcmp(&d1, &d2, 8) == 0, "%s f64 sum differs between 1 and 2 threads", path);
    CHECK(memcmp(C1, C2, M * N * 4) == 0, "%s f32 gemm differs between 1 and 2 threads", path);
    CHECK(memcmp(Cd1, Cd2, M * N * 8) == 0, "%s f64 gemm differs between 1 and 2 threads", path);
    CHECK(memcmp(sm1, sm2, 1000 * 700 * 4) == 0, "%s softmax differs between 1 and 2 threads", path);
    free(x); free(xd); free(A); free(B); free(C1); free(C2); free(Ad); free(Bd); free(Cd1); free(Cd2);
    free(sm1); free(sm2);
}

/* ---- concurrent callers */
typedef struct job { int id; int ok; } job;

static void *hammer(void *arg) {
    job *j = (job *)arg;
    const int64_t n = 300000;
    float *x = (float *)malloc(n * 4), *y = (float *)malloc(n * 4);
    float *A = (float *)malloc(96 * 96 * 4), *C = (float *)malloc(96 * 96 * 4);
    j->ok = x && y && A && C;
    if (!j->ok) return NULL;
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i + j->id) % 7);
    for (int i = 0; i < 96 * 96; i++) A[i] = (i % 96 == i / 96) ? 1.f : 0.f; /* identity */
    for (int it = 0; it < 20 && j->ok; it++) {
        if (ng_unary(NG_F32, NG_UNARY_SQUARE, n, x, y, 0, 0) != NG_OK) j->ok = 0;
        for (int64_t i = 0; i < n; i += 997)
            if (y[i] != x[i] * x[i]) j->ok = 0;
        float s = 0;
        if (ng_reduce(NG_F32, NG_REDUCE_SUM, 1, n, 1, x, &s) != NG_OK) j->ok = 0;
        double want = 0;
        for (int64_t i = 0; i < n; i++) want += x[i];
        if (s != (float)want) j->ok = 0;
        if (ng_gemm(NG_F32, 0, 0, 96, 96, 96, 1, A, 96, 0, A, 96, 0, 0, C, 96, 0, 1) != NG_OK) j->ok = 0;
        for (int i = 0; i < 96 * 96; i++)
            if (C[i] != A[i]) j->ok = 0;
    }
    free(x); free(y); free(A); free(C);
    return NULL;
}

static void check_concurrency(void) {
    CHECK(ng_set_threads(2) == NG_OK, "threads");
    pthread_t th[6];
    job jobs[6];
    for (int i = 0; i < 6; i++) {
        jobs[i].id = i;
        jobs[i].ok = 0;
        pthread_create(&th[i], NULL, hammer, &jobs[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].ok, "concurrent caller %d got wrong results", i);
    }
}

/* Every chunk of a parallel call runs exactly once, whatever the thread count and however the chunks fall into
 * the threads' home ranges (an in-place add shows a chunk run twice or skipped), and a sum over chunks is the same
 * at every thread count. Sizes: chunk counts below, at and above the thread count, and ragged ends. */
static void check_each_chunk_once(void) {
    const int64_t sizes[] = {262144, 262144 * 3 + 77, 1048576 * 3 + 1, 4194304 + 4093};
    const int64_t nmax = 4194304 + 4093;
    float *x = (float *)malloc((size_t)nmax * 4), *one = (float *)malloc((size_t)nmax * 4);
    CHECK(x && one, "alloc");
    for (int64_t i = 0; i < nmax; i++) one[i] = 1.0f;
    float ref[4] = {0};
    for (int t = 1; t <= 6; t++) {
        CHECK(ng_set_threads(t) == NG_OK, "set threads %d", t);
        for (int k = 0; k < 4; k++) {
            const int64_t n = sizes[k], st[1] = {1};
            for (int64_t i = 0; i < n; i++) x[i] = (float)(i % 1000);
            for (int rep = 0; rep < 3; rep++) /* three calls: a range claimed twice would also show */
                CHECK(ng_binary(NG_F32, NG_BINARY_ADD, 1, &n, x, st, one, st, x) == NG_OK, "add");
            int64_t bad = -1;
            for (int64_t i = 0; i < n && bad < 0; i++)
                if (x[i] != (float)(i % 1000) + 3.0f) bad = i;
            CHECK(bad < 0, "threads=%d n=%lld: element %lld is %g after three in-place adds of 1", t, (long long)n,
                  (long long)bad, bad < 0 ? 0.0 : (double)x[bad]);
            float s;
            CHECK(ng_reduce(NG_F32, NG_REDUCE_SUM, 1, n, 1, x, &s) == NG_OK, "sum");
            if (t == 1) ref[k] = s;
            CHECK(memcmp(&s, &ref[k], 4) == 0, "threads=%d n=%lld: sum %.9g differs from one thread's %.9g", t,
                  (long long)n, s, ref[k]);
        }
    }
    free(x);
    free(one);
}

int main(void) {
    const char *path;
    int t0 = ng_get_threads();
    FOR_EACH_PATH(path) check_independence(path);
    check_concurrency();
    check_each_chunk_once();
    ng_set_threads(t0);
    return test_finish("test_threads");
}
