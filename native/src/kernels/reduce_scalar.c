/*
 * reduce_scalar.c - portable reduction kernels.
 *  - f32 sums and products accumulate in double.
 *  - f64 sums use pairwise summation over blocks (rows) / cascaded blocks (columns).
 *  - max/min propagate NaN.
 */
#include "ng_internal.h"
#include <math.h>

#define NG_COL_TILE 256

/* ---------------------------------------------------------------------------------------- rows */
static double row_sum_f32(int64_t n, const void *xv) {
    const float *x = (const float *)xv;
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += (double)x[i + k];
    for (; i < n; i++) s[0] += (double)x[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static double sum_block_f64(int64_t n, const double *x) {
    if (n <= 256) {
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) s[k] += x[i + k];
        for (; i < n; i++) s[0] += x[i];
        return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    }
    int64_t h = (n / 2 + 7) & ~(int64_t)7;
    return sum_block_f64(h, x) + sum_block_f64(n - h, x + h);
}
static double row_sum_f64(int64_t n, const void *x) { return sum_block_f64(n, (const double *)x); }

#define ROW_PMM(T, SUF)                                                                               \
    static double row_prod_##SUF(int64_t n, const void *xv) {                                        \
        const T *x = (const T *)xv;                                                                   \
        double p = 1.0;                                                                               \
        for (int64_t i = 0; i < n; i++) p *= (double)x[i];                                            \
        return p;                                                                                     \
    }                                                                                                 \
    static double row_max_##SUF(int64_t n, const void *xv) {                                         \
        const T *x = (const T *)xv;                                                                   \
        T m = (T)-INFINITY;                                                                           \
        for (int64_t i = 0; i < n; i++) {                                                             \
            T v = x[i];                                                                               \
            if (v > m || v != v) m = v;                                                               \
        }                                                                                             \
        return (double)m;                                                                             \
    }                                                                                                 \
    static double row_min_##SUF(int64_t n, const void *xv) {                                         \
        const T *x = (const T *)xv;                                                                   \
        T m = (T)INFINITY;                                                                            \
        for (int64_t i = 0; i < n; i++) {                                                             \
            T v = x[i];                                                                               \
            if (v < m || v != v) m = v;                                                               \
        }                                                                                             \
        return (double)m;                                                                             \
    }
ROW_PMM(float, f32)
ROW_PMM(double, f64)

/* ------------------------------------------------------------------------------------- columns */
static void cols_sum_f32(int64_t n, int64_t w, int64_t ld, const void *xv, void *yv) {
    const float *x = (const float *)xv;
    float *y = (float *)yv;
    double acc[NG_COL_TILE];
    for (int64_t j0 = 0; j0 < w; j0 += NG_COL_TILE) {
        const int64_t tw = ng_min64(NG_COL_TILE, w - j0);
        for (int64_t j = 0; j < tw; j++) acc[j] = 0;
        for (int64_t r = 0; r < n; r++) {
            const float *row = x + r * ld + j0;
            for (int64_t j = 0; j < tw; j++) acc[j] += (double)row[j];
        }
        for (int64_t j = 0; j < tw; j++) y[j0 + j] = (float)acc[j];
    }
}

#define NG_CASCADE 64
static void cols_sum_f64(int64_t n, int64_t w, int64_t ld, const void *xv, void *yv) {
    const double *x = (const double *)xv;
    double *y = (double *)yv;
    double tot[NG_COL_TILE], blk[NG_COL_TILE];
    for (int64_t j0 = 0; j0 < w; j0 += NG_COL_TILE) {
        const int64_t tw = ng_min64(NG_COL_TILE, w - j0);
        for (int64_t j = 0; j < tw; j++) tot[j] = 0;
        for (int64_t r0 = 0; r0 < n; r0 += NG_CASCADE) {
            const int64_t rn = ng_min64(NG_CASCADE, n - r0);
            for (int64_t j = 0; j < tw; j++) blk[j] = 0;
            for (int64_t r = r0; r < r0 + rn; r++) {
                const double *row = x + r * ld + j0;
                for (int64_t j = 0; j < tw; j++) blk[j] += row[j];
            }
            for (int64_t j = 0; j < tw; j++) tot[j] += blk[j];
        }
        for (int64_t j = 0; j < tw; j++) y[j0 + j] = tot[j];
    }
}

#define COLS_PMM(T, SUF)                                                                              \
    static void cols_prod_##SUF(int64_t n, int64_t w, int64_t ld, const void *xv, void *yv) {        \
        const T *x = (const T *)xv;                                                                   \
        T *y = (T *)yv;                                                                               \
        double acc[NG_COL_TILE];                                                                      \
        for (int64_t j0 = 0; j0 < w; j0 += NG_COL_TILE) {                                             \
            const int64_t tw = ng_min64(NG_COL_TILE, w - j0);                                         \
            for (int64_t j = 0; j < tw; j++) acc[j] = 1;                                              \
            for (int64_t r = 0; r < n; r++)                                                           \
                for (int64_t j = 0; j < tw; j++) acc[j] *= (double)x[r * ld + j0 + j];                \
            for (int64_t j = 0; j < tw; j++) y[j0 + j] = (T)acc[j];                                   \
        }                                                                                             \
    }                                                                                                 \
    static void cols_max_##SUF(int64_t n, int64_t w, int64_t ld, const void *xv, void *yv) {         \
        const T *x = (const T *)xv;                                                                   \
        T *y = (T *)yv;                                                                               \
        for (int64_t j = 0; j < w; j++) y[j] = (T)-INFINITY;                                          \
        for (int64_t r = 0; r < n; r++)                                                               \
            for (int64_t j = 0; j < w; j++) {                                                         \
                T v = x[r * ld + j];                                                                  \
                if (v > y[j] || v != v) y[j] = v;                                                     \
            }                                                                                         \
    }                                                                                                 \
    static void cols_min_##SUF(int64_t n, int64_t w, int64_t ld, const void *xv, void *yv) {         \
        const T *x = (const T *)xv;                                                                   \
        T *y = (T *)yv;                                                                               \
        for (int64_t j = 0; j < w; j++) y[j] = (T)INFINITY;                                           \
        for (int64_t r = 0; r < n; r++)                                                               \
            for (int64_t j = 0; j < w; j++) {                                                         \
                T v = x[r * ld + j];                                                                  \
                if (v < y[j] || v != v) y[j] = v;                                                     \
            }                                                                                         \
    }
COLS_PMM(float, f32)
COLS_PMM(double, f64)

void ng_reduce_init_scalar(ng_kernel_table *t) {
    t->reduce_row[NG_F32][NG_REDUCE_SUM] = row_sum_f32;
    t->reduce_row[NG_F64][NG_REDUCE_SUM] = row_sum_f64;
    t->reduce_row[NG_F32][NG_REDUCE_PROD] = row_prod_f32;
    t->reduce_row[NG_F64][NG_REDUCE_PROD] = row_prod_f64;
    t->reduce_row[NG_F32][NG_REDUCE_MAX] = row_max_f32;
    t->reduce_row[NG_F64][NG_REDUCE_MAX] = row_max_f64;
    t->reduce_row[NG_F32][NG_REDUCE_MIN] = row_min_f32;
    t->reduce_row[NG_F64][NG_REDUCE_MIN] = row_min_f64;
    t->reduce_cols[NG_F32][NG_REDUCE_SUM] = cols_sum_f32;
    t->reduce_cols[NG_F64][NG_REDUCE_SUM] = cols_sum_f64;
    t->reduce_cols[NG_F32][NG_REDUCE_PROD] = cols_prod_f32;
    t->reduce_cols[NG_F64][NG_REDUCE_PROD] = cols_prod_f64;
    t->reduce_cols[NG_F32][NG_REDUCE_MAX] = cols_max_f32;
    t->reduce_cols[NG_F64][NG_REDUCE_MAX] = cols_max_f64;
    t->reduce_cols[NG_F32][NG_REDUCE_MIN] = cols_min_f32;
    t->reduce_cols[NG_F64][NG_REDUCE_MIN] = cols_min_f64;
}
