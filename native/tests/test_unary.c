/* test_unary.c - every unary op on every kernel path vs a double-precision reference; special values;
 * ulp sweep of exp/log/tanh/sigmoid (f32) against correctly rounded double results. */
#include "test_common.h"

static double ref_sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static double ref_unary(int op, double x, double a, double b) {
    switch (op) {
    case NG_UNARY_NEG: return -x;
    case NG_UNARY_EXP: return exp(x);
    case NG_UNARY_LOG: return log(x);
    case NG_UNARY_SQRT: return sqrt(x);
    case NG_UNARY_RSQRT: return 1.0 / sqrt(x);
    case NG_UNARY_ABS: return fabs(x);
    case NG_UNARY_SIN: return sin(x);
    case NG_UNARY_COS: return cos(x);
    case NG_UNARY_TANH: return tanh(x);
    case NG_UNARY_SIGMOID: return ref_sigmoid(x);
    case NG_UNARY_RELU: return isnan(x) ? x : (x > 0 ? x : 0);
    case NG_UNARY_LOG1P: return log1p(x);
    case NG_UNARY_EXPM1: return expm1(x);
    case NG_UNARY_RECIPROCAL: return 1.0 / x;
    case NG_UNARY_SQUARE: return x * x;
    case NG_UNARY_SIGN: return isnan(x) ? x : (x > 0 ? 1 : x < 0 ? -1 : 0);
    case NG_UNARY_ERF: return erf(x);
    case NG_UNARY_POW_SCALAR: return a == 0.5 ? sqrt(x) : pow(x, a);
    case NG_UNARY_CLAMP: {
        if (isnan(x)) return x;
        double r = x;
        if (!isnan(a) && r < a) r = a;
        if (!isnan(b) && r > b) r = b;
        return r;
    }
    case NG_UNARY_SOFTPLUS: {
        double z = a * x;
        if (z > b) return x;
        return (fmax(z, 0) + log1p(exp(-fabs(z)))) / a;
    }
    case NG_UNARY_GT_SCALAR: return x > a;
    case NG_UNARY_LT_SCALAR: return x < a;
    case NG_UNARY_GE_SCALAR: return x >= a;
    case NG_UNARY_LE_SCALAR: return x <= a;
    case NG_UNARY_AFFINE: return a * x + b;
    case NG_UNARY_SILU: return x * ref_sigmoid(x);
    case NG_UNARY_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case NG_UNARY_GELU_TANH: return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
    case NG_UNARY_LEAKY_RELU: return x > 0 ? x : a * x;
    case NG_UNARY_ELU: return x > 0 ? x : a * expm1(x);
    case NG_UNARY_LOG_SIGMOID: return fmin(x, 0) - log1p(exp(-fabs(x)));
    }
    return NAN;
}

static const char *op_name(int op) {
    static const char *names[] = {"neg", "exp", "log", "sqrt", "rsqrt", "abs", "sin", "cos", "tanh", "sigmoid",
                                  "relu", "log1p", "expm1", "reciprocal", "square", "sign", "erf", "pow_scalar",
                                  "clamp", "softplus", "gt", "lt", "ge", "le", "affine", "silu", "gelu",
                                  "gelu_tanh", "leaky_relu", "elu", "log_sigmoid"};
    return op >= 0 && op < NG_UNARY_COUNT ? names[op] : "?";
}

static int positive_domain(int op, double alpha) {
    return op == NG_UNARY_LOG || op == NG_UNARY_SQRT || op == NG_UNARY_RSQRT || op == NG_UNARY_LOG1P ||
           (op == NG_UNARY_POW_SCALAR && alpha != floor(alpha));
}

static double gen_input(int op, double alpha, int64_t i) {
    double x = rng_uniform(-8, 8);
    if (i % 5 == 3) x = rng_uniform(-100, 100);
    if (i % 11 == 7) x = rng_uniform(-1e-3, 1e-3);
    if (i % 17 == 0) x = (double)(int)rng_uniform(-4, 4); /* exact integers: ties for comparisons */
    if (positive_domain(op, alpha)) x = fabs(x) + 1e-30;
    return x;
}

typedef struct param_set { double a, b; } param_set;

static void run_case(const char *path, int dtype, int op, double a, double b, int64_t n, int off, int inplace) {
    const size_t es = dtype == NG_F32 ? 4 : 8;
    char *xb = (char *)xmalloc((size_t)(n + 2) * es), *yb = (char *)xmalloc((size_t)(n + 2) * es);
    double *ref = (double *)xmalloc((size_t)(n + 1) * sizeof(double));
    double *xin = (double *)xmalloc((size_t)(n + 1) * sizeof(double));
    void *x = xb + off * es, *y = inplace ? x : yb + off * es;
    for (int64_t i = 0; i < n; i++) {
        double v = gen_input(op, a, i);
        if (dtype == NG_F32) {
            ((float *)x)[i] = (float)v;
            v = (double)(float)v;
        }
        xin[i] = v;
        if (dtype != NG_F32) {
            ((double *)x)[i] = v;
        }
        ref[i] = ref_unary(op, v, dtype == NG_F32 ? (double)(float)a : a, dtype == NG_F32 ? (double)(float)b : b);
    }
    ng_status st = ng_unary(dtype, op, n, x, y, a, b);
    CHECK(st == NG_OK, "ng_unary status %d (%s)", st, ng_last_error());
    const double rtol = dtype == NG_F32 ? 4e-6 : 1e-12;
    const double atol = dtype == NG_F32 ? 1e-12 : 1e-300;
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 3; i++) {
        double got = dtype == NG_F32 ? (double)((float *)y)[i] : ((double *)y)[i];
        double want = ref[i];
        if (dtype == NG_F32) want = (double)(float)want; /* the best a float result can be */
        double at = atol;
        if (op == NG_UNARY_GELU_TANH || op == NG_UNARY_GELU) at += 1e-15 * 100; /* ref cancellation */
        if (op == NG_UNARY_AFFINE) { /* cancellation between alpha*x and beta */
            at += (dtype == NG_F32 ? 1.2e-7 : 4.5e-16) * (fabs(a * xin[i]) + fabs(b));
        }
        if (!close_enough(got, want, rtol, at)) {
            bad++;
            CHECK(0, "%s %s %s n=%lld off=%d inplace=%d a=%g b=%g: y[%lld] = %.9g, want %.9g", path,
                  dtype == NG_F32 ? "f32" : "f64", op_name(op), (long long)n, off, inplace, a, b, (long long)i, got,
                  want);
        } else {
            g_checks++;
        }
    }
    free(xb);
    free(yb);
    free(ref);
    free(xin);
}

static void test_ops(const char *path) {
    static const int64_t sizes[] = {0, 1, 3, 7, 15, 16, 17, 31, 33, 1000, 100003};
    for (int dtype = 0; dtype < 2; dtype++)
        for (int op = 0; op < NG_UNARY_COUNT; op++) {
            param_set ps[8];
            int np = 0;
            switch (op) {
            case NG_UNARY_POW_SCALAR:
                ps[np++] = (param_set){2, 0}; ps[np++] = (param_set){0.5, 0}; ps[np++] = (param_set){1, 0};
                ps[np++] = (param_set){-1, 0}; ps[np++] = (param_set){3, 0}; ps[np++] = (param_set){-0.5, 0};
                ps[np++] = (param_set){-2, 0}; ps[np++] = (param_set){1.75, 0};
                break;
            case NG_UNARY_CLAMP:
                ps[np++] = (param_set){-1.5, 2.25}; ps[np++] = (param_set){NAN, 0.5}; ps[np++] = (param_set){-0.5, NAN};
                ps[np++] = (param_set){NAN, NAN}; ps[np++] = (param_set){3, -3};
                break;
            case NG_UNARY_SOFTPLUS:
                ps[np++] = (param_set){1, 20}; ps[np++] = (param_set){2.5, 5}; ps[np++] = (param_set){0.5, 1};
                break;
            case NG_UNARY_AFFINE: ps[np++] = (param_set){1.5, -0.25}; ps[np++] = (param_set){-2, 3}; break;
            case NG_UNARY_LEAKY_RELU: ps[np++] = (param_set){0.01, 0}; ps[np++] = (param_set){-0.5, 0}; break;
            case NG_UNARY_ELU: ps[np++] = (param_set){1, 0}; ps[np++] = (param_set){0.25, 0}; break;
            case NG_UNARY_GT_SCALAR: case NG_UNARY_LT_SCALAR: case NG_UNARY_GE_SCALAR: case NG_UNARY_LE_SCALAR:
                ps[np++] = (param_set){0, 0}; ps[np++] = (param_set){2, 0}; ps[np++] = (param_set){-1.5, 0};
                break;
            default: ps[np++] = (param_set){0.5, 2.0};
            }
            for (int p = 0; p < np; p++)
                for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                    for (int off = 0; off < 2; off++)
                        run_case(path, dtype, op, ps[p].a, ps[p].b, sizes[s], off, 0);
            run_case(path, dtype, op, ps[0].a, ps[0].b, 1000, 0, 1);
        }
}

/* ---------------------------------------------------------------------------------- special values */
static float u32f(int op, float x, double a, double b) {
    float y = -12345.f;
    ng_status st = ng_unary(NG_F32, op, 1, &x, &y, a, b);
    CHECK(st == NG_OK, "status");
    return y;
}
static double u64f(int op, double x, double a, double b) {
    double y = -12345.;
    ng_status st = ng_unary(NG_F64, op, 1, &x, &y, a, b);
    CHECK(st == NG_OK, "status");
    return y;
}

#define SPECIAL(op, x, a, b, cond)                                                                    \
    do {                                                                                              \
        float yf = u32f(op, (float)(x), a, b);                                                        \
        double yd = u64f(op, (double)(x), a, b);                                                      \
        {                                                                                             \
            double y = yf;                                                                            \
            CHECK(cond, "%s f32 %s(%g; %g, %g) = %g", path, op_name(op), (double)(x), (double)a, (double)b, y); \
        }                                                                                             \
        {                                                                                             \
            double y = yd;                                                                            \
            CHECK(cond, "%s f64 %s(%g; %g, %g) = %g", path, op_name(op), (double)(x), (double)a, (double)b, y); \
        }                                                                                             \
    } while (0)

static void test_special(const char *path) {
    const double inf = INFINITY, nan = NAN;
    SPECIAL(NG_UNARY_EXP, -inf, 0, 0, y == 0);
    SPECIAL(NG_UNARY_EXP, inf, 0, 0, isinf(y) && y > 0);
    SPECIAL(NG_UNARY_EXP, nan, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_EXP, -800, 0, 0, y == 0);
    SPECIAL(NG_UNARY_EXP, 0, 0, 0, y == 1);
    {
        float yf = u32f(NG_UNARY_EXP, 89.f, 0, 0);
        CHECK(isinf(yf) && yf > 0, "%s exp(89) = %g", path, yf);
        yf = u32f(NG_UNARY_EXP, 88.7f, 0, 0);
        CHECK(isfinite(yf) && yf > 3e38f, "%s exp(88.7) = %g", path, yf);
        yf = u32f(NG_UNARY_EXP, -103.f, 0, 0);
        CHECK(yf > 0 && yf < 1e-44f, "%s exp(-103) = %g (denormal expected)", path, yf);
    }
    SPECIAL(NG_UNARY_LOG, 0, 0, 0, isinf(y) && y < 0);
    SPECIAL(NG_UNARY_LOG, -0.0, 0, 0, isinf(y) && y < 0);
    SPECIAL(NG_UNARY_LOG, -1, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_LOG, -inf, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_LOG, inf, 0, 0, isinf(y) && y > 0);
    SPECIAL(NG_UNARY_LOG, nan, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_LOG, 1, 0, 0, y == 0);
    SPECIAL(NG_UNARY_TANH, inf, 0, 0, y == 1);
    SPECIAL(NG_UNARY_TANH, -inf, 0, 0, y == -1);
    SPECIAL(NG_UNARY_TANH, nan, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_TANH, 0, 0, 0, y == 0);
    SPECIAL(NG_UNARY_TANH, 1e-30, 0, 0, y == (double)(float)1e-30 || y == 1e-30);
    SPECIAL(NG_UNARY_SIGMOID, inf, 0, 0, y == 1);
    SPECIAL(NG_UNARY_SIGMOID, -inf, 0, 0, y == 0);
    SPECIAL(NG_UNARY_SIGMOID, nan, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_SIGMOID, -100, 0, 0, y > 0 && y < 1e-40);
    SPECIAL(NG_UNARY_SIGMOID, 100, 0, 0, y == 1);
    SPECIAL(NG_UNARY_RELU, nan, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_RELU, -inf, 0, 0, y == 0);
    SPECIAL(NG_UNARY_CLAMP, nan, -1, 1, isnan(y));
    SPECIAL(NG_UNARY_CLAMP, 5, nan, nan, y == 5);
    SPECIAL(NG_UNARY_CLAMP, -5, nan, 1, y == -5);
    SPECIAL(NG_UNARY_CLAMP, 5, -1, nan, y == 5);
    SPECIAL(NG_UNARY_CLAMP, inf, -1, 1, y == 1);
    SPECIAL(NG_UNARY_SIGN, nan, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_SIGN, -inf, 0, 0, y == -1);
    SPECIAL(NG_UNARY_SIGN, 0, 0, 0, y == 0);
    SPECIAL(NG_UNARY_SQRT, -1, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_ABS, -inf, 0, 0, isinf(y) && y > 0);
    SPECIAL(NG_UNARY_NEG, nan, 0, 0, isnan(y));
    SPECIAL(NG_UNARY_SOFTPLUS, 1000, 1, 20, y == 1000);
    SPECIAL(NG_UNARY_SOFTPLUS, -1000, 1, 20, y >= 0 && y < 1e-30);
    SPECIAL(NG_UNARY_SOFTPLUS, 10, 1, 20, fabs(y - 10.0000453989) < 1e-5);
    SPECIAL(NG_UNARY_SOFTPLUS, nan, 1, 20, isnan(y));
    SPECIAL(NG_UNARY_LOG_SIGMOID, -1000, 0, 0, y == -1000);
    SPECIAL(NG_UNARY_LOG_SIGMOID, 1000, 0, 0, y <= 0 && y > -1e-30);
    SPECIAL(NG_UNARY_SILU, -1000, 0, 0, y <= 0 && y > -1e-30);
    SPECIAL(NG_UNARY_GELU, 10, 0, 0, fabs(y - 10) < 1e-6);
    SPECIAL(NG_UNARY_GELU_TANH, -10, 0, 0, y <= 0 && y > -1e-20);
    SPECIAL(NG_UNARY_ELU, -inf, 2, 0, y == -2);
    SPECIAL(NG_UNARY_GT_SCALAR, nan, 0, 0, y == 0);
    SPECIAL(NG_UNARY_LE_SCALAR, nan, 0, 0, y == 0);
    SPECIAL(NG_UNARY_POW_SCALAR, -8, 1.0 / 3.0, 0, isnan(y));
    SPECIAL(NG_UNARY_POW_SCALAR, nan, 2, 0, isnan(y));
    SPECIAL(NG_UNARY_RECIPROCAL, 0, 0, 0, isinf(y) && y > 0);
}

/* --------------------------------------------------------------------------------------- ulp sweep */
typedef double (*dfun)(double);
static double d_sigmoid(double x) { return ref_sigmoid(x); }

static int64_t sweep(int op, dfun ref, float lo, float hi, uint32_t stride, float *xs, float *ys, int64_t cap,
                     double *worst_x) {
    int64_t worst = 0;
    int64_t n = 0;
    /* all float bit patterns (step `stride`) whose value lies in [lo, hi], plus dense patches */
    for (uint64_t bits = 0; bits <= 0xFFFFFFFFull; bits += stride) {
        uint32_t b = (uint32_t)bits;
        float f;
        memcpy(&f, &b, 4);
        if (!(f >= lo && f <= hi)) continue;
        xs[n++] = f;
        if (n == cap) {
            ng_unary(NG_F32, op, n, xs, ys, 0, 0);
            for (int64_t i = 0; i < n; i++) {
                int64_t u = ulp_f32(ys[i], (float)ref((double)xs[i]));
                if (u > worst) { worst = u; *worst_x = xs[i]; }
            }
            n = 0;
        }
    }
    if (n) {
        ng_unary(NG_F32, op, n, xs, ys, 0, 0);
        for (int64_t i = 0; i < n; i++) {
            int64_t u = ulp_f32(ys[i], (float)ref((double)xs[i]));
            if (u > worst) { worst = u; *worst_x = xs[i]; }
        }
    }
    return worst;
}

static int64_t dense(int op, dfun ref, float center, int64_t half, float *xs, float *ys, double *worst_x) {
    int64_t n = 0, worst = 0;
    int32_t c;
    memcpy(&c, &center, 4);
    for (int64_t k = -half; k <= half; k++) {
        int32_t b = (int32_t)(c + k);
        float f;
        memcpy(&f, &b, 4);
        if (isnan(f)) continue;
        xs[n++] = f;
    }
    ng_unary(NG_F32, op, n, xs, ys, 0, 0);
    for (int64_t i = 0; i < n; i++) {
        int64_t u = ulp_f32(ys[i], (float)ref((double)xs[i]));
        if (u > worst) { worst = u; *worst_x = xs[i]; }
    }
    return worst;
}

static double d_gelu(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
static double d_silu(double x) { return x * ref_sigmoid(x); }
static double d_log_sigmoid(double x) { return fmin(x, 0) - log1p(exp(-fabs(x))); }

static void test_ulps(const char *path) {
    const int64_t cap = 1 << 20;
    float *xs = (float *)xmalloc(cap * sizeof(float)), *ys = (float *)xmalloc(cap * sizeof(float));
    /* exp/log/tanh/sigmoid must be within 2 ulp; the other vectorised f32 ops get a looser bound */
    struct { int op; dfun ref; float lo, hi; float centers[6]; int64_t bound; } fs[] = {
        {NG_UNARY_EXP, exp, -110.f, 100.f, {0.f, 88.72f, -87.33f, -103.97f, 0.3466f, -0.3466f}, 2},
        {NG_UNARY_LOG, log, 0.f, 3.4e38f, {1.f, 0.70710678f, 1.41421356f, 1.17549435e-38f, 2.f, 0.5f}, 2},
        {NG_UNARY_TANH, tanh, -12.f, 12.f, {0.f, 0.625f, -0.625f, 0.55f, 9.f, 1e-4f}, 2},
        {NG_UNARY_SIGMOID, d_sigmoid, -110.f, 40.f, {0.f, -87.f, 16.f, -16.f, 1.f, -1.f}, 2},
        {NG_UNARY_EXPM1, expm1, -110.f, 100.f, {0.f, 0.3466f, -0.3466f, 1e-3f, -1e-3f, 88.7f}, 3},
        {NG_UNARY_LOG1P, log1p, -0.9999f, 1e30f, {0.f, 1e-3f, -1e-3f, -0.5f, 1.f, -0.9f}, 3},
        {NG_UNARY_ERF, erf, -8.f, 8.f, {0.f, 1.f, -1.f, 2.f, 0.1f, 3.5f}, 3},
        {NG_UNARY_GELU, d_gelu, -12.f, 12.f, {0.f, 1.41421356f, -1.41421356f, 2.8284271f, -2.8284271f, -5.f}, 16},
        {NG_UNARY_SILU, d_silu, -80.f, 80.f, {0.f, -1.f, 1.f, -20.f, 5.f, -5.f}, 4},
        {NG_UNARY_LOG_SIGMOID, d_log_sigmoid, -80.f, 80.f, {0.f, -1.f, 1.f, -20.f, 10.f, 20.f}, 4},
        /* reduced in double: next to multiples of pi/2 (the last centres are the floats nearest 2^19 pi/2 and
         * 2^20) and past the 2^20 switch to libm alike */
        {NG_UNARY_SIN, sin, -3e6f, 3e6f, {0.f, 3.14159274f, 1.57079637f, 710.0f, 823549.6875f, 1048576.f}, 1},
        {NG_UNARY_COS, cos, -3e6f, 3e6f, {0.f, 1.57079637f, 3.14159274f, 4.71238899f, 823549.6875f, 1048576.f}, 1},
    };
    for (size_t f = 0; f < sizeof fs / sizeof fs[0]; f++) {
        double wx = 0, wx2 = 0;
        int64_t w = sweep(fs[f].op, fs[f].ref, fs[f].lo, fs[f].hi, 211, xs, ys, cap, &wx);
        for (int c = 0; c < 6; c++) {
            int64_t w2 = dense(fs[f].op, fs[f].ref, fs[f].centers[c], 20000, xs, ys, &wx2);
            if (w2 > w) { w = w2; wx = wx2; }
        }
        printf("  ulp %-7s %-8s max %lld ulp (at x = %.9g)\n", path, op_name(fs[f].op), (long long)w, wx);
        CHECK(w <= fs[f].bound, "%s %s max ulp error %lld > %lld at x = %.9g", path, op_name(fs[f].op), (long long)w,
              (long long)fs[f].bound, wx);
    }
    free(xs);
    free(ys);
}

int main(void) {
    const char *path;
    printf("default kernel path: %s\n", ng_kernel_path());
    FOR_EACH_PATH(path) {
        test_ops(path);
        test_special(path);
        test_ulps(path);
    }
    return test_finish("test_unary");
}
