/* test_binary.c - binary ops (contiguous, scalar-broadcast, general strided / broadcast, aliasing) and
 * ng_copy_strided / ng_fill on every kernel path vs a reference. */
#include "test_common.h"

static double ref_binary(int op, double a, double b) {
    switch (op) {
    case NG_BINARY_ADD: return a + b;
    case NG_BINARY_SUB: return a - b;
    case NG_BINARY_MUL: return a * b;
    case NG_BINARY_DIV: return a / b;
    case NG_BINARY_POW: return pow(a, b);
    case NG_BINARY_MAXIMUM: return (isnan(a) || isnan(b)) ? NAN : (a > b ? a : b);
    case NG_BINARY_MINIMUM: return (isnan(a) || isnan(b)) ? NAN : (a < b ? a : b);
    case NG_BINARY_EQ: return a == b;
    case NG_BINARY_GT: return a > b;
    case NG_BINARY_LT: return a < b;
    case NG_BINARY_GE: return a >= b;
    case NG_BINARY_LE: return a <= b;
    case NG_BINARY_BCE_WITH_LOGITS: return (a >= 0 ? (1 - b) * a : -(b * a)) + log1p(exp(-fabs(a))); /* the kernels' association */
    case NG_BINARY_SIGMOID_SUB: return (a >= 0 ? 1 / (1 + exp(-a)) : exp(a) / (1 + exp(a))) - b; /* the kernel's branches */
    }
    return NAN;
}

/* The size of the terms the f32 vector kernels of BCE-with-logits and sigmoid-minus-target add up (they compute in
 * float, as libtorch does): their error is a few ulp of this, however much the terms cancel (targets outside [0, 1]). */
static double term_scale(int op, double a, double b) {
    if (op == NG_BINARY_BCE_WITH_LOGITS) return fabs(a >= 0 ? (1 - b) * a : -b * a) + log1p(exp(-fabs(a)));
    if (op == NG_BINARY_SIGMOID_SUB) return (a >= 0 ? 1 / (1 + exp(-a)) : exp(a) / (1 + exp(a))) + fabs(b);
    return 0;
}

static double gen(int op, int64_t i, int which) {
    double v = rng_uniform(-10, 10);
    if (i % 7 == 2) v = (double)(int)rng_uniform(-3, 3);
    if (i % 97 == 5 && op != NG_BINARY_POW) v = which ? NAN : INFINITY;
    if (op == NG_BINARY_POW) v = which ? rng_uniform(-3, 3) : fabs(v) + 0.01;
    return v;
}

static double getv(int dtype, const void *p, int64_t i) {
    return dtype == NG_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static void setv(int dtype, void *p, int64_t i, double v) {
    if (dtype == NG_F32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

/* general case: shape[ndim], operand strides; buffers sized by the largest offset */
static void run_case(const char *path, int dtype, int op, int ndim, const int64_t *shape, const int64_t *as,
                     const int64_t *bs, int off, int alias) {
    const size_t es = dtype == NG_F32 ? 4 : 8;
    int64_t total = 1, amax = 0, bmax = 0;
    for (int d = 0; d < ndim; d++) {
        total *= shape[d];
        if (shape[d] > 0) {
            amax += (shape[d] - 1) * as[d];
            bmax += (shape[d] - 1) * bs[d];
        }
    }
    char *ab = (char *)xmalloc((size_t)(amax + 2) * es), *bb = (char *)xmalloc((size_t)(bmax + 2) * es);
    char *ob = (char *)xmalloc((size_t)(total + 2) * es);
    void *a = ab + off * es, *b = bb + off * es, *o = ob + off * es;
    for (int64_t i = 0; i <= amax; i++) setv(dtype, a, i, gen(op, i, 0));
    for (int64_t i = 0; i <= bmax; i++) setv(dtype, b, i, gen(op, i * 3 + 1, 1));
    double *ref = (double *)xmalloc((size_t)(total + 1) * sizeof(double));
    double *scale = (double *)xmalloc((size_t)(total + 1) * sizeof(double));
    for (int64_t t = 0; t < total; t++) {
        int64_t rem = t, oa = 0, ob2 = 0;
        for (int d = ndim - 1; d >= 0; d--) {
            int64_t i = rem % shape[d];
            rem /= shape[d];
            oa += i * as[d];
            ob2 += i * bs[d];
        }
        ref[t] = ref_binary(op, getv(dtype, a, oa), getv(dtype, b, ob2));
        scale[t] = term_scale(op, getv(dtype, a, oa), getv(dtype, b, ob2));
    }
    if (alias == 1) o = a; /* only used when a is contiguous with the output shape */
    if (alias == 2) o = b;
    ng_status st = ng_binary(dtype, op, ndim, shape, a, as, b, bs, o);
    CHECK(st == NG_OK, "ng_binary status %d: %s", st, ng_last_error());
    const double rtol = dtype == NG_F32 ? 2e-6 : 1e-14;
    int bad = 0;
    for (int64_t t = 0; t < total && bad < 3; t++) {
        double got = getv(dtype, o, t), want = ref[t];
        if (dtype == NG_F32) want = (double)(float)want;
        const double atol = dtype == NG_F32 ? 8 * 1.1920929e-7 * scale[t] : 0; /* see term_scale */
        if (!close_enough(got, want, rtol, atol > 1e-300 ? atol : 1e-300)) {
            bad++;
            CHECK(0, "%s %s op %d ndim %d total %lld off %d alias %d: out[%lld] = %.9g want %.9g", path,
                  dtype ? "f64" : "f32", op, ndim, (long long)total, off, alias, (long long)t, got, want);
        } else {
            g_checks++;
        }
    }
    free(ab);
    free(bb);
    free(ob);
    free(ref);
    free(scale);
}

/* BCE-with-logits and sigmoid-minus-target in f32 for targets in [0, 1] (a probability, as in training): within
 * 3 ulp of the correctly rounded result for the loss, and for the gradient (which can cancel) within 2 ulp of
 * sigmoid(x) or of the result, whichever is larger */
static void test_bce_accuracy(const char *path) {
    enum { N = 1 << 16 };
    static float x[N], y[N], o[N];
    static const float targets[] = {0.0f, 1.0f, 0.5f, 0.25f, 0.9f, 0.999f, 1e-3f, -1.0f /* random */};
    int64_t worst_loss = 0, worst_grad = 0;
    float wx = 0, wy = 0, gx = 0, gy = 0, go = 0;
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
        for (int64_t i = 0; i < N; i++) {
            /* logits from -120 to 120, dense near 0 */
            const double u = (double)i / (N - 1) * 2 - 1;
            x[i] = (float)(u * u * u * 120);
            y[i] = targets[k] >= 0 ? targets[k] : (float)rng_uniform(0, 1);
        }
        CHECK(ng_binary(NG_F32, NG_BINARY_BCE_WITH_LOGITS, 1, (int64_t[]){N}, x, (int64_t[]){1}, y, (int64_t[]){1}, o) == NG_OK, "bce");
        for (int64_t i = 0; i < N; i++) {
            const double xd = x[i], yd = y[i];
            const float want = (float)((xd >= 0 ? (1 - yd) * xd : -yd * xd) + log1p(exp(-fabs(xd))));
            const int64_t u = ulp_f32(o[i], want);
            if (u > worst_loss) { worst_loss = u; wx = x[i]; wy = y[i]; }
        }
        CHECK(ng_binary(NG_F32, NG_BINARY_SIGMOID_SUB, 1, (int64_t[]){N}, x, (int64_t[]){1}, y, (int64_t[]){1}, o) == NG_OK, "sigmoid_sub");
        for (int64_t i = 0; i < N; i++) {
            const double xd = x[i], s = xd >= 0 ? 1 / (1 + exp(-xd)) : exp(xd) / (1 + exp(xd));
            const double err = fabs((double)o[i] - (s - y[i]));
            const float want = (float)(s - y[i]); /* the result's own rounding is allowed too */
            const double ulp_s = fmax(fmax(nextafterf((float)s, INFINITY) - (float)s, fabsf(nextafterf(want, INFINITY) - want)), 1e-45);
            const int64_t u = (int64_t)ceil(err / ulp_s - 0.5);
            if (u > worst_grad) { worst_grad = u; gx = x[i]; gy = y[i]; go = o[i]; }
        }
    }
    printf("  %s bce_with_logits f32: max %lld ulp (x = %.9g, y = %.9g); sigmoid_sub: max %lld ulp of sigmoid(x) or the result (x = %.9g, y = %.9g: %.9g)\n", path,
           (long long)worst_loss, wx, wy, (long long)worst_grad, gx, gy, go);
    CHECK(worst_loss <= 3, "%s bce_with_logits max error %lld ulp > 3 at x = %.9g, y = %.9g", path, (long long)worst_loss, wx, wy);
    CHECK(worst_grad <= 2, "%s sigmoid_sub max error %lld ulp of sigmoid > 2", path, (long long)worst_grad);
}

static void test_binary_path(const char *path) {
    static const int64_t sizes[] = {0, 1, 3, 7, 15, 16, 17, 31, 33, 1000, 100003};
    for (int dtype = 0; dtype < 2; dtype++)
        for (int op = 0; op < NG_BINARY_COUNT; op++) {
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                int64_t n = sizes[s];
                int64_t sh[1] = {n}, one[1] = {1}, zero[1] = {0}, two[1] = {2};
                for (int off = 0; off < 2; off++) {
                    run_case(path, dtype, op, 1, sh, one, one, off, 0);   /* contiguous */
                    run_case(path, dtype, op, 1, sh, zero, one, off, 0);  /* a scalar */
                    run_case(path, dtype, op, 1, sh, one, zero, off, 0);  /* b scalar */
                }
                run_case(path, dtype, op, 1, sh, two, one, 0, 0);         /* strided a */
                run_case(path, dtype, op, 1, sh, one, one, 0, 1);         /* out == a */
                run_case(path, dtype, op, 1, sh, one, one, 0, 2);         /* out == b */
            }
            /* 2-d broadcasts */
            static const int64_t dims[][2] = {{3, 5}, {17, 33}, {64, 1}, {1, 64}, {7, 100}, {513, 257}, {0, 4}};
            for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
                int64_t R = dims[k][0], C = dims[k][1];
                int64_t sh[2] = {R, C};
                int64_t cont[2] = {C, 1}, row[2] = {0, 1}, col[2] = {1, 0}, tr[2] = {1, R}, sc[2] = {0, 0};
                run_case(path, dtype, op, 2, sh, cont, row, 1, 0);
                run_case(path, dtype, op, 2, sh, row, cont, 0, 0);
                run_case(path, dtype, op, 2, sh, cont, col, 0, 0);
                run_case(path, dtype, op, 2, sh, col, row, 0, 0); /* outer product style */
                run_case(path, dtype, op, 2, sh, tr, cont, 1, 0); /* transposed a */
                run_case(path, dtype, op, 2, sh, cont, sc, 0, 0);
                run_case(path, dtype, op, 2, sh, cont, cont, 0, 1);
            }
            /* 4-d mixed */
            {
                int64_t sh[4] = {3, 1, 5, 7};
                int64_t as[4] = {35, 35, 7, 1}, bs[4] = {0, 0, 1, 5}; /* b transposed in the inner 2 dims */
                run_case(path, dtype, op, 4, sh, as, bs, 1, 0);
                int64_t sh2[4] = {2, 3, 4, 9};
                int64_t as2[4] = {0, 4 * 9, 9, 1}, bs2[4] = {3, 1, 0, 6};
                run_case(path, dtype, op, 4, sh2, as2, bs2, 0, 0);
            }
            /* 0-d */
            run_case(path, dtype, op, 0, NULL, NULL, NULL, 0, 0);
        }
    /* past the driver's streaming threshold (>= 24 MB moved: non-temporal output stores), aligned and not */
    static const int big_ops[] = {NG_BINARY_ADD, NG_BINARY_DIV, NG_BINARY_MAXIMUM, NG_BINARY_POW};
    for (int dtype = 0; dtype < 2; dtype++)
        for (size_t k = 0; k < sizeof big_ops / sizeof big_ops[0]; k++) {
            const int op = big_ops[k];
            int64_t sh[1] = {dtype == NG_F32 ? 2100003 : 1050001}, one[1] = {1}, zero[1] = {0};
            run_case(path, dtype, op, 1, sh, one, one, 1, 0);
            run_case(path, dtype, op, 1, sh, zero, one, 0, 0);
            run_case(path, dtype, op, 1, sh, one, zero, 1, 0);
            run_case(path, dtype, op, 1, sh, one, one, 0, 1);
            int64_t sh2[2] = {dtype == NG_F32 ? 1001 : 501, 2099}, cont[2] = {2099, 1}, row[2] = {0, 1};
            run_case(path, dtype, op, 2, sh2, cont, row, 1, 0);
        }
}

static void test_copy_fill(const char *path) {
    (void)path;
    for (int dtype = 0; dtype < 2; dtype++) {
        const size_t es = dtype == NG_F32 ? 4 : 8;
        /* transpose copy of a [R, C] matrix into [C, R]: src strides {1, C} on shape [C, R] */
        static const int64_t dims[][2] = {{1, 1}, {3, 7}, {17, 33}, {100, 1000}, {1000, 513}, {0, 3}};
        for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
            int64_t R = dims[k][0], C = dims[k][1];
            void *src = xmalloc((size_t)(R * C + 1) * es), *dst = xmalloc((size_t)(R * C + 1) * es);
            for (int64_t i = 0; i < R * C; i++) setv(dtype, src, i, (double)i);
            int64_t sh[2] = {C, R}, ss[2] = {1, C}, ds[2] = {R, 1};
            CHECK(ng_copy_strided(dtype, 2, sh, src, ss, dst, ds) == NG_OK, "copy status: %s", ng_last_error());
            int bad = 0;
            for (int64_t c = 0; c < C && !bad; c++)
                for (int64_t r = 0; r < R; r++)
                    if (getv(dtype, dst, c * R + r) != (double)(r * C + c)) { bad = 1; break; }
            CHECK(!bad, "transpose copy %lldx%lld dtype %d", (long long)R, (long long)C, dtype);
            /* contiguous copy (memcpy path) into strided destination columns */
            int64_t sh1[2] = {R, C}, cs[2] = {C, 1};
            memset(dst, 0, (size_t)(R * C) * es);
            CHECK(ng_copy_strided(dtype, 2, sh1, src, cs, dst, cs) == NG_OK, "copy status");
            CHECK(R * C == 0 || memcmp(src, dst, (size_t)(R * C) * es) == 0, "contiguous copy");
            /* broadcast source (stride 0) */
            int64_t bsrc[2] = {0, 1};
            CHECK(ng_copy_strided(dtype, 2, sh1, src, bsrc, dst, cs) == NG_OK, "copy status");
            bad = 0;
            for (int64_t r = 0; r < R && !bad; r++)
                for (int64_t c = 0; c < C; c++)
                    if (getv(dtype, dst, r * C + c) != (double)c) { bad = 1; break; }
            CHECK(!bad, "broadcast copy");
            free(src);
            free(dst);
        }
        /* 3-d permutation with offsets: shape [4, 5, 6] read as permuted (2, 0, 1) */
        {
            double buf[4 * 5 * 6];
            float fbuf[4 * 5 * 6];
            void *src = dtype ? (void *)buf : (void *)fbuf;
            for (int i = 0; i < 120; i++) setv(dtype, src, i, i);
            int64_t sh[3] = {6, 4, 5}, ss[3] = {1, 30, 6}, ds[3] = {20, 5, 1};
            double ob[120];
            float ofb[120];
            void *dst = dtype ? (void *)ob : (void *)ofb;
            CHECK(ng_copy_strided(dtype, 3, sh, src, ss, dst, ds) == NG_OK, "copy3");
            int bad = 0;
            for (int k = 0; k < 6; k++)
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 5; j++)
                        if (getv(dtype, dst, k * 20 + i * 5 + j) != i * 30 + j * 6 + k) bad = 1;
            CHECK(!bad, "3-d permuted copy");
        }
        /* fill */
        for (int64_t n = 0; n < 2000000; n = n * 7 + 3) {
            void *p = xmalloc((size_t)(n + 1) * es);
            CHECK(ng_fill(dtype, n, p, -2.5) == NG_OK, "fill");
            int bad = 0;
            for (int64_t i = 0; i < n; i++)
                if (getv(dtype, p, i) != -2.5) { bad = 1; break; }
            CHECK(!bad, "fill n=%lld", (long long)n);
            free(p);
        }
    }
}

int main(void) {
    const char *path;
    FOR_EACH_PATH(path) {
        test_binary_path(path);
        test_bce_accuracy(path);
        test_copy_fill(path);
    }
    return test_finish("test_binary");
}
