/* test_gemm.c - ng_gemm on every kernel path: all transpose combinations, padded leading dimensions,
 * alpha/beta variants (beta == 0 must ignore NaN in C), zero-sized M/N/K, batches with stride 0. */
#include "test_common.h"

static double getv(int dtype, const void *p, int64_t i) {
    return dtype == NG_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static void setv(int dtype, void *p, int64_t i, double v) {
    if (dtype == NG_F32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

static void run_case(const char *path, int dtype, int ta, int tb, int64_t M, int64_t N, int64_t K, int64_t pad,
                     double alpha, double beta, int64_t batch, int zero_sa, int zero_sb) {
    const size_t es = dtype == NG_F32 ? 4 : 8;
    const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    const int64_t arows = ta ? K : M, brows = tb ? N : K;
    const int64_t asz = arows * lda + 1, bsz = brows * ldb + 1, csz = M * ldc + 1;
    const int64_t sa = zero_sa ? 0 : asz, sb = zero_sb ? 0 : bsz, sc = csz;
    void *A = xmalloc((size_t)(asz * batch + 1) * es), *B = xmalloc((size_t)(bsz * batch + 1) * es);
    void *C = xmalloc((size_t)(csz * batch + 1) * es);
    double *C0 = (double *)xmalloc((size_t)(csz * batch + 1) * sizeof(double));
    for (int64_t i = 0; i < asz * batch; i++) setv(dtype, A, i, rng_uniform(-1, 1));
    for (int64_t i = 0; i < bsz * batch; i++) setv(dtype, B, i, rng_uniform(-1, 1));
    for (int64_t i = 0; i < csz * batch; i++) {
        setv(dtype, C, i, beta == 0 ? NAN : rng_uniform(-1, 1));
        C0[i] = getv(dtype, C, i);
    }
    ng_status st = ng_gemm(dtype, ta, tb, M, N, K, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch);
    CHECK(st == NG_OK, "ng_gemm status %d: %s", st, ng_last_error());
    const double eps = dtype == NG_F32 ? 1.2e-7 : 2.3e-16;
    int bad = 0;
    for (int64_t b = 0; b < batch && bad < 3; b++)
        for (int64_t i = 0; i < M && bad < 3; i++)
            for (int64_t j = 0; j < N && bad < 3; j++) {
                double acc = 0, mag = 0;
                for (int64_t k = 0; k < K; k++) {
                    double a = getv(dtype, A, b * sa + (ta ? k * lda + i : i * lda + k));
                    double bb = getv(dtype, B, b * sb + (tb ? j * ldb + k : k * ldb + j));
                    acc += a * bb;
                    mag += fabs(a * bb);
                }
                double c0 = C0[b * sc + i * ldc + j];
                double want = alpha * acc + (beta == 0 ? 0 : beta * c0);
                double tol = 2 * (K + 2) * eps * (fabs(alpha) * mag + fabs(beta == 0 ? 0 : beta * c0)) + 1e-300;
                double got = getv(dtype, C, b * sc + i * ldc + j);
                if (!close_enough(got, want, 0, tol)) {
                    bad++;
                    CHECK(0, "%s %s ta=%d tb=%d M=%lld N=%lld K=%lld pad=%lld a=%g b=%g batch=%lld: C[%lld][%lld][%lld] = %.9g want %.9g",
                          path, dtype ? "f64" : "f32", ta, tb, (long long)M, (long long)N, (long long)K, (long long)pad,
                          alpha, beta, (long long)batch, (long long)b, (long long)i, (long long)j, got, want);
                } else {
                    g_checks++;
                }
            }
    /* padding columns of C must be untouched */
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = N; j < ldc; j++) {
                double got = getv(dtype, C, b * sc + i * ldc + j), c0 = C0[b * sc + i * ldc + j];
                CHECK((isnan(got) && isnan(c0)) || got == c0, "C padding modified");
            }
    free(A);
    free(B);
    free(C);
    free(C0);
}

static void test_path(const char *path) {
    static const int64_t dims[][3] = {{1, 1, 1}, {3, 5, 7}, {7, 3, 1}, {17, 33, 9}, {64, 64, 64}, {13, 31, 300},
                                      {129, 65, 257}, {0, 5, 3}, {4, 0, 3}, {4, 5, 0}, {50, 1, 40}, {1, 70, 20}};
    for (int dtype = 0; dtype < 2; dtype++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
                    run_case(path, dtype, ta, tb, dims[d][0], dims[d][1], dims[d][2], 0, 1, 0, 1, 0, 0);
                    run_case(path, dtype, ta, tb, dims[d][0], dims[d][1], dims[d][2], 3, 0.5, 2, 1, 0, 0);
                    run_case(path, dtype, ta, tb, dims[d][0], dims[d][1], dims[d][2], 1, -1, 1, 1, 0, 0);
                }
    for (int dtype = 0; dtype < 2; dtype++) {
        /* batches, including stride 0 (shared A or B) */
        run_case(path, dtype, 0, 0, 9, 11, 13, 0, 1, 0, 3, 0, 0);
        run_case(path, dtype, 1, 0, 9, 11, 13, 2, 1, 1, 4, 1, 0);
        run_case(path, dtype, 0, 1, 33, 17, 70, 0, 1, 0, 5, 0, 1);
        run_case(path, dtype, 1, 1, 70, 80, 90, 1, 2, 0.5, 3, 0, 0);
        run_case(path, dtype, 0, 0, 4, 5, 6, 0, 1, 0, 40, 1, 1);
        /* alpha == 0 and K == 0 with beta */
        run_case(path, dtype, 0, 0, 5, 6, 7, 0, 0, 0.5, 1, 0, 0);
        /* blocking boundaries: M beyond the A block, N beyond the B panel, K beyond kc */
        run_case(path, dtype, 0, 0, 1100, 9, 5, 0, 1, 0, 1, 0, 0);
        run_case(path, dtype, 0, 1, 5, 3200, 7, 0, 1, 1, 1, 0, 0);
        run_case(path, dtype, 1, 0, 37, 45, 600, 0, 1, 0, 1, 0, 0);
        run_case(path, dtype, 0, 0, 200, 300, 513, 1, 1, 0, 1, 0, 0);
    }
    /* stride_c == 0 with beta == 1 accumulates over the batch */
    {
        float A[6] = {1, 2, 3, 4, 5, 6}, B[2] = {1, 1}, C[1] = {0};
        /* A: batch 3 of 1x2, B shared 2x1 */
        CHECK(ng_gemm(NG_F32, 0, 0, 1, 1, 2, 1, A, 2, 2, B, 1, 0, 1, C, 1, 0, 3) == NG_OK, "status");
        CHECK(C[0] == 21.f, "%s stride_c = 0 accumulation gave %g", path, C[0]);
    }
}

int main(void) {
    const char *path;
    FOR_EACH_PATH(path) test_path(path);
    return test_finish("test_gemm");
}
