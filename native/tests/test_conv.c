/* test_conv.c - im2col vs direct reference, col2im as its exact adjoint, maxpool2d (NaN wins, first max). */
#include "test_common.h"

static void test_im2col(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                        int64_t SW, int64_t PH, int64_t PW) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int64_t nx = N * C * H * W, nc = N * C * KH * KW * OH * OW;
    double *xd = (double *)xmalloc((size_t)(nx + 1) * 8), *cd = (double *)xmalloc((size_t)(nc + 1) * 8);
    float *xf = (float *)xmalloc((size_t)(nx + 1) * 4), *cf = (float *)xmalloc((size_t)(nc + 1) * 4);
    for (int64_t i = 0; i < nx; i++) xf[i] = (float)(xd[i] = (double)((i * 7919) % 1009) - 500.0);
    void *x = dtype ? (void *)xd : (void *)xf, *cols = dtype ? (void *)cd : (void *)cf;
    CHECK(ng_im2col(dtype, N, C, H, W, KH, KW, SH, SW, PH, PW, x, cols) == NG_OK, "im2col: %s", ng_last_error());
    int bad = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++)
                    for (int64_t oh = 0; oh < OH; oh++)
                        for (int64_t ow = 0; ow < OW; ow++) {
                            int64_t ih = oh * SH - PH + kh, iw = ow * SW - PW + kw;
                            double want = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? xd[((n * C + c) * H + ih) * W + iw] : 0;
                            int64_t ci = ((n * C + c) * KH * KW + kh * KW + kw) * OH * OW + oh * OW + ow;
                            double got = dtype ? cd[ci] : cf[ci];
                            if (got != want) bad++;
                        }
    CHECK(!bad, "im2col dtype %d (%lld,%lld,%lld,%lld k%lldx%lld s%lldx%lld p%lldx%lld): %d mismatches", dtype,
          (long long)N, (long long)C, (long long)H, (long long)W, (long long)KH, (long long)KW, (long long)SH,
          (long long)SW, (long long)PH, (long long)PW, bad);
    /* adjoint: <im2col(x), g> == <x, col2im(g)> (integers, exact) */
    for (int64_t i = 0; i < nc; i++) cf[i] = (float)(cd[i] = (double)((i * 31) % 17) - 8.0);
    for (int64_t i = 0; i < nx; i++) xf[i] = (float)(xd[i] = 1.0);
    double lhs = 0, rhs = 0;
    {
        /* lhs = sum over cols of g * im2col(ones) */
        double *ones = (double *)xmalloc((size_t)(nx + 1) * 8), *cc = (double *)xmalloc((size_t)(nc + 1) * 8);
        for (int64_t i = 0; i < nx; i++) ones[i] = (double)(i % 5);
        CHECK(ng_im2col(NG_F64, N, C, H, W, KH, KW, SH, SW, PH, PW, ones, cc) == NG_OK, "im2col");
        for (int64_t i = 0; i < nc; i++) lhs += cc[i] * cd[i];
        CHECK(ng_col2im(dtype, N, C, H, W, KH, KW, SH, SW, PH, PW, cols, x) == NG_OK, "col2im: %s", ng_last_error());
        for (int64_t i = 0; i < nx; i++) rhs += ones[i] * ((dtype ? xd[i] : xf[i]) - 1.0);
        free(ones);
        free(cc);
    }
    CHECK(lhs == rhs, "col2im adjoint mismatch: %g vs %g", lhs, rhs);
    free(xd); free(cd); free(xf); free(cf);
}

static void test_maxpool(int dtype) {
    /* 1 x 2 x 4 x 5 input, 2x2 kernel, stride 2x1 */
    const int64_t N = 1, C = 2, H = 4, W = 5, KH = 2, KW = 2, SH = 2, SW = 1;
    const int64_t OH = 2, OW = 4;
    double x[40];
    for (int i = 0; i < 40; i++) x[i] = (double)((i * 13) % 7);
    x[6] = NAN;   /* plane 0, h=1, w=1 */
    x[20] = 9; x[21] = 9; /* plane 1 ties at h=0 w=0,1 */
    float xf[40];
    for (int i = 0; i < 40; i++) xf[i] = (float)x[i];
    double yd[16];
    float yf[16];
    int64_t idx[16];
    CHECK(ng_maxpool2d(dtype, N, C, H, W, KH, KW, SH, SW, dtype ? (void *)x : (void *)xf, dtype ? (void *)yd : (void *)yf,
                       idx) == NG_OK, "maxpool: %s", ng_last_error());
    for (int64_t c = 0; c < C; c++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double best = -INFINITY;
                int64_t bi = oh * SH * W + ow * SW;
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        int64_t p = (oh * SH + kh) * W + ow * SW + kw;
                        double v = x[c * H * W + p];
                        if (v > best || isnan(v)) { best = v; bi = p; }
                    }
                int64_t o = (c * OH + oh) * OW + ow;
                double got = dtype ? yd[o] : yf[o];
                CHECK((isnan(best) && isnan(got)) || got == best, "maxpool value [%lld,%lld,%lld] %g vs %g", (long long)c,
                      (long long)oh, (long long)ow, got, best);
                CHECK(idx[o] == bi, "maxpool index [%lld,%lld,%lld] %lld vs %lld", (long long)c, (long long)oh,
                      (long long)ow, (long long)idx[o], (long long)bi);
            }
    CHECK(idx[0] == 6 && idx[1] == 6, "NaN should win: idx %lld %lld", (long long)idx[0], (long long)idx[1]);
    CHECK(idx[8] == 0 && idx[9] == 1, "first max on ties: idx %lld %lld", (long long)idx[8], (long long)idx[9]);
}

int main(void) {
    for (int dtype = 0; dtype < 2; dtype++) {
        test_im2col(dtype, 1, 1, 5, 5, 3, 3, 1, 1, 0, 0);
        test_im2col(dtype, 2, 3, 7, 6, 3, 2, 2, 1, 1, 2);
        test_im2col(dtype, 1, 2, 4, 4, 4, 4, 1, 1, 0, 0);
        test_im2col(dtype, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1);
        test_im2col(dtype, 4, 8, 32, 32, 3, 3, 1, 1, 1, 1);
        test_im2col(dtype, 2, 4, 17, 23, 5, 3, 3, 2, 2, 0);
        test_im2col(dtype, 0, 3, 5, 5, 3, 3, 1, 1, 0, 0);
        test_maxpool(dtype);
    }
    float x[4];
    CHECK(ng_im2col(NG_F32, 1, 1, 2, 2, 3, 3, 1, 1, 0, 0, x, x) == NG_ERR_INVALID_ARGUMENT, "kernel larger than input");
    CHECK(ng_im2col(NG_F32, 1, 1, 2, 2, 1, 1, 0, 1, 0, 0, x, x) == NG_ERR_INVALID_ARGUMENT, "zero stride");
    CHECK(ng_maxpool2d(NG_F32, 1, 1, 2, 2, 3, 3, 1, 1, x, x, NULL) == NG_ERR_INVALID_ARGUMENT, "maxpool kernel too big");
    return test_finish("test_conv");
}
