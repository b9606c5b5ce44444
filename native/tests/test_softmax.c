/* test_softmax.c - softmax / log_softmax rows on every kernel path vs a double reference. */
#include "test_common.h"

static void run_case(const char *path, int dtype, int lg, int64_t rows, int64_t cols, double scale, int off) {
    const size_t es = dtype == NG_F32 ? 4 : 8;
    const int64_t n = rows * cols;
    char *xb = (char *)xmalloc((size_t)(n + 1) * es), *yb = (char *)xmalloc((size_t)(n + 1) * es);
    void *x = xb + off * es, *y = yb + off * es;
    for (int64_t i = 0; i < n; i++) {
        double v = rng_uniform(-1, 1) * scale;
        if (dtype == NG_F32) ((float *)x)[i] = (float)v;
        else ((double *)x)[i] = v;
    }
    CHECK(ng_softmax(dtype, lg, rows, cols, x, y) == NG_OK, "status: %s", ng_last_error());
    int bad = 0;
    for (int64_t r = 0; r < rows && bad < 3; r++) {
        double m = -INFINITY, s = 0;
        for (int64_t c = 0; c < cols; c++) {
            double v = dtype ? ((double *)x)[r * cols + c] : ((float *)x)[r * cols + c];
            if (v > m) m = v;
        }
        for (int64_t c = 0; c < cols; c++) {
            double v = dtype ? ((double *)x)[r * cols + c] : ((float *)x)[r * cols + c];
            s += exp(dtype ? v - m : (double)((float)v - (float)m));
        }
        for (int64_t c = 0; c < cols; c++) {
            double v = dtype ? ((double *)x)[r * cols + c] : ((float *)x)[r * cols + c];
            double d = dtype ? v - m : (double)((float)v - (float)m); /* the kernel's own x - max */
            double want = lg ? d - log(s) : exp(d) / s;
            double got = dtype ? ((double *)y)[r * cols + c] : ((float *)y)[r * cols + c];
            double tol = dtype ? 1e-13 * (lg ? fabs(want) + log(s) + 1 : fabs(want)) + 1e-300
                               : 5e-7 * (lg ? fabs(want) + log(s) + 1 : fabs(want)) + 1e-38;
            if (!close_enough(got, want, 0, tol)) {
                bad++;
                CHECK(0, "%s %s log=%d %lldx%lld scale %g: y[%lld,%lld] = %.9g want %.9g", path, dtype ? "f64" : "f32",
                      lg, (long long)rows, (long long)cols, scale, (long long)r, (long long)c, got, want);
                break;
            }
            g_checks++;
        }
    }
    free(xb);
    free(yb);
}

/* backward: y = softmax(x) (or log_softmax), g random; dx vs a double reference; also in place on g */
static void run_backward(const char *path, int dtype, int lg, int64_t rows, int64_t cols, int inplace) {
    const size_t es = dtype == NG_F32 ? 4 : 8;
    const int64_t n = rows * cols;
    char *x = (char *)xmalloc((size_t)(n + 1) * es), *y = (char *)xmalloc((size_t)(n + 1) * es);
    char *g = (char *)xmalloc((size_t)(n + 1) * es), *dxb = (char *)xmalloc((size_t)(n + 1) * es);
    double *gref = (double *)xmalloc((size_t)(n + 1) * 8);
    for (int64_t i = 0; i < n; i++) {
        double v = rng_uniform(-1, 1) * 4, w = rng_uniform(-1, 1);
        if (dtype == NG_F32) { ((float *)x)[i] = (float)v; ((float *)g)[i] = (float)w; gref[i] = (float)w; }
        else { ((double *)x)[i] = v; ((double *)g)[i] = w; gref[i] = w; }
    }
    CHECK(ng_softmax(dtype, lg, rows, cols, x, y) == NG_OK, "status: %s", ng_last_error());
    void *dx = inplace ? (void *)g : (void *)dxb;
    CHECK(ng_softmax_backward(dtype, lg, rows, cols, y, g, dx) == NG_OK, "status: %s", ng_last_error());
    for (int64_t r = 0; r < rows; r++) {
        double s = 0;
        for (int64_t c = 0; c < cols; c++) {
            const double yv = dtype ? ((double *)y)[r * cols + c] : ((float *)y)[r * cols + c];
            s += lg ? gref[r * cols + c] : gref[r * cols + c] * yv;
        }
        for (int64_t c = 0; c < cols; c++) {
            const double yv = dtype ? ((double *)y)[r * cols + c] : ((float *)y)[r * cols + c];
            const double gv = gref[r * cols + c];
            const double want = lg ? gv - exp(yv) * s : yv * (gv - s);
            const double got = dtype ? ((double *)dx)[r * cols + c] : ((float *)dx)[r * cols + c];
            const double scale = lg ? fabs(gv) + exp(yv) * fabs(s) : fabs(yv) * (fabs(gv) + fabs(s));
            const double tol = (dtype ? 1e-14 : 2e-6) * (scale + 1e-30) + (dtype ? 1e-300 : 1e-38);
            if (!close_enough(got, want, 0, tol)) {
                CHECK(0, "%s %s log=%d %lldx%lld inplace=%d: dx[%lld,%lld] = %.9g want %.9g", path, dtype ? "f64" : "f32",
                      lg, (long long)rows, (long long)cols, inplace, (long long)r, (long long)c, got, want);
                r = rows;
                break;
            }
            g_checks++;
        }
    }
    free(x); free(y); free(g); free(dxb); free(gref);
}

static void test_special(const char *path) {
    float x[4] = {1000.f, -1000.f, 1000.f, 0.f}, y[4];
    CHECK(ng_softmax(NG_F32, 0, 1, 4, x, y) == NG_OK, "status");
    CHECK(y[0] == 0.5f && y[2] == 0.5f && y[1] == 0.f && y[3] == 0.f, "%s softmax(+-1000) = %g %g %g %g", path, y[0],
          y[1], y[2], y[3]);
    CHECK(ng_softmax(NG_F32, 1, 1, 4, x, y) == NG_OK, "status");
    CHECK(fabsf(y[0] + 0.6931472f) < 1e-6f && y[1] == -2000.f - 0.6931472f, "%s log_softmax(+-1000) = %g %g", path,
          y[0], y[1]);
    float xn[3] = {1.f, NAN, 2.f};
    CHECK(ng_softmax(NG_F32, 0, 1, 3, xn, y) == NG_OK, "status");
    CHECK(isnan(y[0]) && isnan(y[1]) && isnan(y[2]), "%s softmax with NaN", path);
    CHECK(ng_softmax_backward(NG_F32, 0, 1, 4, y, x, y) == NG_ERR_INVALID_ARGUMENT, "%s softmax_backward with dx == y must fail", path);
    CHECK(ng_softmax_backward(NG_F32, 0, 1, 4, x, y, y) == NG_OK, "%s softmax_backward in place on g: %s", path, ng_last_error());
    double xd[3] = {-INFINITY, 0.0, -INFINITY}, yd[3];
    CHECK(ng_softmax(NG_F64, 0, 1, 3, xd, yd) == NG_OK, "status");
    CHECK(yd[0] == 0 && yd[1] == 1 && yd[2] == 0, "%s softmax with -inf: %g %g %g", path, yd[0], yd[1], yd[2]);
}

int main(void) {
    const char *path;
    static const int64_t shapes[][2] = {{1, 1}, {1, 3}, {2, 7}, {3, 15}, {1, 16}, {5, 17}, {2, 31}, {4, 33},
                                        {10, 1000}, {1, 100003}, {3000, 40}, {0, 5}, {5, 0}};
    FOR_EACH_PATH(path) {
        for (int dtype = 0; dtype < 2; dtype++)
            for (int lg = 0; lg < 2; lg++)
                for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                    run_case(path, dtype, lg, shapes[s][0], shapes[s][1], 5, 0);
                    run_case(path, dtype, lg, shapes[s][0], shapes[s][1], 1000, 1);
                    run_backward(path, dtype, lg, shapes[s][0], shapes[s][1], (int)(s & 1));
                }
        /* f32 shapes past the drivers' streaming threshold (>= 24 MB moved: non-temporal stores), odd row lengths
         * (y not aligned, partial vectors at both ends of the rows), and rows longer than the stack scratch row */
        static const int64_t big[][2] = {{1536, 2049}, {640, 5003}};
        for (int lg = 0; lg < 2; lg++)
            for (size_t s = 0; s < sizeof big / sizeof big[0]; s++) {
                run_case(path, NG_F32, lg, big[s][0], big[s][1], 5, 1);
                run_case(path, NG_F32, lg, big[s][0], big[s][1], 1000, 0);
                run_backward(path, NG_F32, lg, big[s][0], big[s][1], (int)s);
            }
        test_special(path);
    }
    return test_finish("test_softmax");
}
