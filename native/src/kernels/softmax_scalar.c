/*
 * softmax_scalar.c - portable row softmax / log_softmax (max-subtracted; sums in double).
 */
#include "ng_internal.h"
#include <math.h>

#define SOFTMAX_ROW(T, SUF, EXPF, LOGF)                                                               \
    static void softmax_row_##SUF(int64_t cols, const void *xv, void *yv, int flags) {               \
        const int lg = flags & NG_SM_LOG;                                                             \
        const T *x = (const T *)xv;                                                                   \
        T *y = (T *)yv;                                                                               \
        if (cols <= 0) return;                                                                        \
        T m = (T)-INFINITY;                                                                           \
        for (int64_t i = 0; i < cols; i++) {                                                          \
            T v = x[i];                                                                               \
            if (v > m || v != v) m = v;                                                               \
        }                                                                                             \
        double s = 0;                                                                                 \
        if (lg) {                                                                                     \
            for (int64_t i = 0; i < cols; i++) s += (double)EXPF(x[i] - m);                           \
            const T ls = (T)log(s);                                                                   \
            for (int64_t i = 0; i < cols; i++) y[i] = (x[i] - m) - ls;                                \
        } else {                                                                                      \
            for (int64_t i = 0; i < cols; i++) {                                                      \
                T e = EXPF(x[i] - m);                                                                 \
                y[i] = e;                                                                             \
                s += (double)e;                                                                       \
            }                                                                                         \
            const double inv = 1.0 / s;                                                               \
            for (int64_t i = 0; i < cols; i++) y[i] = (T)((double)y[i] * inv);                        \
        }                                                                                             \
    }
SOFTMAX_ROW(float, f32, expf, logf)
SOFTMAX_ROW(double, f64, exp, log)

/* backward: softmax dx = y (g - sum(g y)); log_softmax dx = g - exp(y) sum(g). dx may alias g. */
#define SOFTMAX_BWD_ROW(T, SUF, EXPF)                                                                 \
    static void softmax_bwd_row_##SUF(int64_t cols, const void *yv, const void *gv, void *dv, int flags) { \
        const int lg = flags & NG_SM_LOG;                                                             \
        const T *y = (const T *)yv, *g = (const T *)gv;                                               \
        T *dx = (T *)dv;                                                                              \
        double s = 0;                                                                                 \
        if (lg) {                                                                                     \
            for (int64_t i = 0; i < cols; i++) s += (double)g[i];                                     \
            const T st = (T)s;                                                                        \
            for (int64_t i = 0; i < cols; i++) dx[i] = g[i] - EXPF(y[i]) * st;                        \
        } else {                                                                                      \
            for (int64_t i = 0; i < cols; i++) s += (double)g[i] * (double)y[i];                      \
            const T st = (T)s;                                                                        \
            for (int64_t i = 0; i < cols; i++) dx[i] = y[i] * (g[i] - st);                            \
        }                                                                                             \
    }
SOFTMAX_BWD_ROW(float, f32, expf)
SOFTMAX_BWD_ROW(double, f64, exp)

void ng_softmax_init_scalar(ng_kernel_table *t) {
    t->softmax_row[NG_F32] = softmax_row_f32;
    t->softmax_row[NG_F64] = softmax_row_f64;
    t->softmax_bwd_row[NG_F32] = softmax_bwd_row_f32;
    t->softmax_bwd_row[NG_F64] = softmax_bwd_row_f64;
}
