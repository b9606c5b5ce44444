/*
 * native-smoke.c - loads a packaged libnativegrad the way the .NET runtime does (dlopen of the file, symbols by
 * name) and checks its kernels on every kernel path the CPU offers. Used by scripts/smoke-test-package.sh on the
 * linux-x64 binary natively and on the linux-arm64 binary under qemu-aarch64:
 *
 *   aarch64-linux-gnu-gcc -O1 -o native-smoke scripts/native-smoke.c -ldl -lm
 *   qemu-aarch64 -L /usr/aarch64-linux-gnu ./native-smoke path/to/runtimes/linux-arm64/native/libnativegrad.so
 *
 * Checks: the C ABI version; PyTorch's autograd tutorial step by hand (z = x.w + b, binary cross-entropy with
 * logits, its gradients dL/dw and dL/db) against a double-precision reference; exp/log/tanh/sigmoid/erf on
 * float32 and float64; a GEMM larger than one micro-kernel tile; softmax and sums; an invalid call returning an
 * error with a message; results identical for 1 and 4 threads. Prints "N passed, M failed" and exits non-zero
 * on a failure.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*fn_version)(void);
typedef const char *(*fn_str)(void);
typedef int (*fn_set_path)(const char *);
typedef int (*fn_set_threads)(int);
typedef int (*fn_unary)(int, int, int64_t, const void *, void *, double, double);
typedef int (*fn_binary)(int, int, int, const int64_t *, const void *, const int64_t *, const void *, const int64_t *, void *);
typedef int (*fn_reduce)(int, int, int64_t, int64_t, int64_t, const void *, void *);
typedef int (*fn_softmax)(int, int, int64_t, int64_t, const void *, void *);
typedef int (*fn_gemm)(int, int, int, int64_t, int64_t, int64_t, double, const void *, int64_t, int64_t,
                       const void *, int64_t, int64_t, double, void *, int64_t, int64_t, int64_t);

enum { F32 = 0, F64 = 1 };
enum { U_EXP = 1, U_LOG = 2, U_TANH = 8, U_SIGMOID = 9, U_ERF = 16 };
enum { B_SUB = 1, B_MUL = 2 };
enum { R_SUM = 0 };

static fn_version ng_version;
static fn_str ng_kernel_path, ng_last_error;
static fn_set_path ng_set_kernel_path;
static fn_set_threads ng_set_threads;
static fn_unary ng_unary;
static fn_binary ng_binary;
static fn_reduce ng_reduce;
static fn_softmax ng_softmax;
static fn_gemm ng_gemm;

static int passed, failed;

static void check(int ok, const char *path, const char *what, double err) {
    if (ok) passed++;
    else { failed++; printf("FAIL [%s] %s (error %.3g)\n", path, what, err); }
}

static void *sym(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    if (!p) { printf("FAIL: symbol %s not exported: %s\n", name, dlerror()); exit(2); }
    return p;
}

static double rel_err(double got, double want) {
    if (isnan(want)) return isnan(got) ? 0 : INFINITY;
    double d = fabs(got - want);
    return d / (fabs(want) > 1 ? fabs(want) : 1);
}

/* The tutorial: x = ones(5), y = zeros(3), w [5, 3], b [3]; z = x.w + b; L = mean(BCEWithLogits(z, y));
 * dL/dz = (sigmoid(z) - y) / 3; dL/dw = x^T . dL/dz; dL/db = dL/dz. */
static void tutorial(const char *path) {
    static const double w0[15] = {1.5410, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986, 0.4033, 0.8380, -0.7193,
                                  -0.4033, -0.5966, 0.1820, -0.8567, 1.1006, -1.0712};
    static const double b0[3] = {0.1227, -0.5663, 0.3731};
    double x[5], y[3] = {0, 0, 0}, z[3], s[3], dz[3], dw[15], want_dw[15], want_db[3];
    for (int i = 0; i < 5; i++) x[i] = 1;
    for (int j = 0; j < 3; j++) z[j] = b0[j];
    int st = ng_gemm(F64, 0, 0, 1, 3, 5, 1.0, x, 5, 0, w0, 3, 0, 1.0, z, 3, 0, 1);
    st |= ng_unary(F64, U_SIGMOID, 3, z, s, 0, 0);
    int64_t shape[1] = {3}, unit[1] = {1};
    st |= ng_binary(F64, B_SUB, 1, shape, s, unit, y, unit, dz);
    double third = 1.0 / 3.0;
    int64_t bcast[1] = {0};
    st |= ng_binary(F64, B_MUL, 1, shape, dz, unit, &third, bcast, dz);
    st |= ng_gemm(F64, 1, 0, 5, 3, 1, 1.0, x, 5, 0, dz, 3, 0, 0.0, dw, 3, 0, 1);   /* x^T (5x1) . dz (1x3) */
    check(st == 0, path, "tutorial: calls succeed", st);
    double max_err = 0;
    for (int j = 0; j < 3; j++) {
        double zj = b0[j];
        for (int i = 0; i < 5; i++) zj += x[i] * w0[i * 3 + j];
        want_db[j] = (1 / (1 + exp(-zj)) - y[j]) / 3;
        for (int i = 0; i < 5; i++) want_dw[i * 3 + j] = x[i] * want_db[j];
        max_err = fmax(max_err, rel_err(dz[j], want_db[j]));
    }
    for (int k = 0; k < 15; k++) max_err = fmax(max_err, rel_err(dw[k], want_dw[k]));
    check(max_err < 1e-12, path, "tutorial: dL/dw and dL/db", max_err);
}

static void unary(const char *path) {
    enum { N = 1000 };
    static float xf[N], yf[N];
    static double xd[N], yd[N];
    static const int ops[] = {U_EXP, U_LOG, U_TANH, U_SIGMOID, U_ERF};
    static const char *names[] = {"exp", "log", "tanh", "sigmoid", "erf"};
    for (int o = 0; o < 5; o++) {
        for (int i = 0; i < N; i++) {
            double v = -20 + 40.0 * i / (N - 1);
            if (ops[o] == U_LOG) v = 1e-3 + 1e3 * i / (N - 1);
            xf[i] = (float)v;
            xd[i] = v;
        }
        int st = ng_unary(F32, ops[o], N, xf, yf, 0, 0) | ng_unary(F64, ops[o], N, xd, yd, 0, 0);
        double ef = 0, ed = 0;
        for (int i = 0; i < N; i++) {
            double vf = xf[i], vd = xd[i], rf, rd;
            switch (ops[o]) {
            case U_EXP: rf = exp(vf); rd = exp(vd); break;
            case U_LOG: rf = log(vf); rd = log(vd); break;
            case U_TANH: rf = tanh(vf); rd = tanh(vd); break;
            case U_SIGMOID: rf = 1 / (1 + exp(-vf)); rd = 1 / (1 + exp(-vd)); break;
            default: rf = erf(vf); rd = erf(vd); break;
            }
            ef = fmax(ef, rel_err(yf[i], rf));
            ed = fmax(ed, rel_err(yd[i], rd));
        }
        char what[64];
        snprintf(what, sizeof what, "%s float32 and float64", names[o]);
        check(st == 0 && ef < 1e-5 && ed < 1e-12, path, what, fmax(ef, ed));
    }
}

static void gemm_softmax_reduce(const char *path) {
    enum { M = 67, N = 45, K = 131 };
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N), *c1 = malloc(sizeof(float) * M * N),
          *c4 = malloc(sizeof(float) * M * N), *sm = malloc(sizeof(float) * M * N), *rows = malloc(sizeof(float) * M);
    for (int i = 0; i < M * K; i++) a[i] = (float)((i * 37 % 101) - 50) / 50.0f;
    for (int i = 0; i < K * N; i++) b[i] = (float)((i * 53 % 97) - 48) / 48.0f;
    int st = ng_set_threads(1);
    st |= ng_gemm(F32, 0, 0, M, N, K, 1.0, a, K, 0, b, N, 0, 0.0, c1, N, 0, 1);
    st |= ng_set_threads(4);
    st |= ng_gemm(F32, 0, 0, M, N, K, 1.0, a, K, 0, b, N, 0, 0.0, c4, N, 0, 1);
    double err = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double want = 0;
            for (int k = 0; k < K; k++) want += (double)a[i * K + k] * b[k * N + j];
            err = fmax(err, fabs(c1[i * N + j] - want) / (1 + fabs(want)));
        }
    check(st == 0 && err < 1e-5, path, "gemm 67x45x131 float32", err);
    check(memcmp(c1, c4, sizeof(float) * M * N) == 0, path, "gemm: 1 and 4 threads give identical bits", 0);
    st = ng_softmax(F32, 0, M, N, c1, sm) | ng_reduce(F32, R_SUM, M, N, 1, sm, rows);
    err = 0;
    for (int i = 0; i < M; i++) err = fmax(err, fabs(rows[i] - 1.0));
    check(st == 0 && err < 1e-5, path, "softmax rows sum to 1", err);
    free(a); free(b); free(c1); free(c4); free(sm); free(rows);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s path/to/libnativegrad.so\n", argv[0]); return 2; }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) { printf("FAIL: dlopen %s: %s\n", argv[1], dlerror()); return 2; }
    ng_version = (fn_version)sym(lib, "ng_version");
    ng_kernel_path = (fn_str)sym(lib, "ng_kernel_path");
    ng_last_error = (fn_str)sym(lib, "ng_last_error");
    ng_set_kernel_path = (fn_set_path)sym(lib, "ng_set_kernel_path");
    ng_set_threads = (fn_set_threads)sym(lib, "ng_set_threads");
    ng_unary = (fn_unary)sym(lib, "ng_unary");
    ng_binary = (fn_binary)sym(lib, "ng_binary");
    ng_reduce = (fn_reduce)sym(lib, "ng_reduce");
    ng_softmax = (fn_softmax)sym(lib, "ng_softmax");
    ng_gemm = (fn_gemm)sym(lib, "ng_gemm");

    printf("libnativegrad ABI %d, default kernels: %s\n", ng_version(), ng_kernel_path());
    check(ng_version() == 1, "-", "ABI version 1", ng_version());
    int st = ng_unary(F32, 999, 1, NULL, NULL, 0, 0);
    check(st != 0 && strlen(ng_last_error()) > 0, "-", "invalid op: error status and message", st);

    static const char *paths[] = {"scalar", "avx2", "avx512"};
    for (int p = 0; p < 3; p++) {
        if (ng_set_kernel_path(paths[p]) != 0) continue;   /* not available on this CPU / architecture */
        printf("kernel path %s\n", paths[p]);
        tutorial(paths[p]);
        unary(paths[p]);
        gemm_softmax_reduce(paths[p]);
    }
    printf("native-smoke: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
