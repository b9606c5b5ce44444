/* test_reduce.c - ng_reduce on every kernel path: rows (inner == 1), columns (inner > 1), n == 0, NaN
 * propagation, and the accurate 16M-element float sum. */
#include "test_common.h"

static double getv(int dtype, const void *p, int64_t i) {
    return dtype == NG_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static void run_case(const char *path, int dtype, int op, int64_t outer, int64_t n, int64_t inner, int off,
                     int with_nan) {
    const size_t es = dtype == NG_F32 ? 4 : 8;
    const int64_t nx = outer * n * inner, ny = outer * inner;
    char *xb = (char *)xmalloc((size_t)(nx + 1) * es), *yb = (char *)xmalloc((size_t)(ny + 1) * es);
    void *x = xb + off * es, *y = yb + off * es;
    for (int64_t i = 0; i < nx; i++) {
        double v = op == NG_REDUCE_PROD ? rng_uniform(0.9, 1.1) * (i % 2 ? 1 : -1) : rng_uniform(-1, 1);
        if (i % 13 == 0 && op >= NG_REDUCE_MAX) v = (double)(int)rng_uniform(-1, 1);
        if (dtype == NG_F32) ((float *)x)[i] = (float)v;
        else ((double *)x)[i] = v;
    }
    if (with_nan && nx > 0) {
        int64_t k = (int64_t)(rng_u64() % (uint64_t)nx);
        if (dtype == NG_F32) ((float *)x)[k] = NAN;
        else ((double *)x)[k] = NAN;
    }
    ng_status st = ng_reduce(dtype, op, outer, n, inner, x, y);
    CHECK(st == NG_OK, "ng_reduce status %d: %s", st, ng_last_error());
    int bad = 0;
    for (int64_t o = 0; o < outer && bad < 3; o++)
        for (int64_t j = 0; j < inner && bad < 3; j++) {
            double acc = op == NG_REDUCE_SUM ? 0 : op == NG_REDUCE_PROD ? 1 : op == NG_REDUCE_MAX ? -INFINITY : INFINITY;
            double sabs = 0;
            int nan = 0;
            for (int64_t k = 0; k < n; k++) {
                double v = getv(dtype, x, (o * n + k) * inner + j);
                if (isnan(v)) nan = 1;
                sabs += fabs(v);
                switch (op) {
                case NG_REDUCE_SUM: acc += v; break;
                case NG_REDUCE_PROD: acc *= v; break;
                case NG_REDUCE_MAX: if (v > acc) acc = v; break;
                default: if (v < acc) acc = v; break;
                }
            }
            if (nan) acc = NAN;
            if (dtype == NG_F32) acc = (double)(float)acc; /* e.g. long products underflow in float */
            double got = getv(dtype, y, o * inner + j);
            double tol;
            if (op == NG_REDUCE_SUM) tol = (dtype == NG_F32 ? 6e-8 * fabs(acc) : 0) + 1e-14 * sabs;
            else if (op == NG_REDUCE_PROD) tol = (dtype == NG_F32 ? 1.2e-7 : 1e-15 * n) * fabs(acc);
            else tol = 0;
            if (!close_enough(got, acc, 0, tol)) {
                bad++;
                CHECK(0, "%s %s op %d (%lld,%lld,%lld) off %d nan %d: y[%lld,%lld] = %.17g want %.17g", path,
                      dtype ? "f64" : "f32", op, (long long)outer, (long long)n, (long long)inner, off, with_nan,
                      (long long)o, (long long)j, got, acc);
            } else {
                g_checks++;
            }
        }
    free(xb);
    free(yb);
}

static void test_path(const char *path) {
    static const int64_t shapes[][3] = {
        {1, 0, 1}, {3, 0, 5}, {0, 5, 3}, {1, 1, 1}, {1, 3, 1}, {1, 7, 1}, {1, 15, 1}, {1, 16, 1}, {1, 17, 1},
        {1, 31, 1}, {1, 33, 1}, {1, 1000, 1}, {1, 100003, 1}, {5, 33, 1}, {300, 1000, 1}, {2, 70000, 1},
        {1, 5, 3}, {2, 7, 16}, {3, 17, 33}, {1, 1000, 7}, {4, 100, 300}, {1, 3, 1000}, {2, 513, 257},
        {1, 100003, 2}, {7, 1, 9}};
    for (int dtype = 0; dtype < 2; dtype++)
        for (int op = 0; op < NG_REDUCE_COUNT; op++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                for (int off = 0; off < 2; off++)
                    run_case(path, dtype, op, shapes[s][0], shapes[s][1], shapes[s][2], off, off);
}

static void test_big_sum(const char *path) {
    const int64_t n = 16 * 1024 * 1024;
    float *x = (float *)xmalloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) x[i] = (float)rng_uniform(0, 1) + (i % 3 == 0 ? 100.f : 0.f);
    /* exact-ish reference: Neumaier summation in double */
    double s = 0, c = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i], t = s + v;
        if (fabs(s) >= fabs(v)) c += (s - t) + v;
        else c += (v - t) + s;
        s = t;
    }
    double ref = s + c;
    float y = 0;
    CHECK(ng_reduce(NG_F32, NG_REDUCE_SUM, 1, n, 1, x, &y) == NG_OK, "status");
    double rel = fabs((double)y - ref) / fabs(ref);
    printf("  16M float sum (%s): got %.9g ref %.17g rel err %.3g\n", path, y, ref, rel);
    CHECK(rel <= 1e-6, "%s 16M sum relative error %g", path, rel);
    /* the same data as 16 columns: the column kernel accumulates in double as well */
    float yc[16];
    CHECK(ng_reduce(NG_F32, NG_REDUCE_SUM, 1, n / 16, 16, x, yc) == NG_OK, "status");
    double tot = 0;
    for (int j = 0; j < 16; j++) tot += yc[j];
    CHECK(fabs(tot - ref) / ref < 1e-6, "%s column sums total rel err %g", path, fabs(tot - ref) / ref);
    free(x);
}

int main(void) {
    const char *path;
    FOR_EACH_PATH(path) {
        test_path(path);
        test_big_sum(path);
    }
    return test_finish("test_reduce");
}
