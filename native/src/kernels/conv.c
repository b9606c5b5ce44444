/*
 * conv.c - im2col / col2im / maxpool2d (NCHW).
 *  im2col: parallel over rows (n, c, kh, kw) of the column matrix.
 *  col2im: parallel over (n, c) planes only; inside a plane contributions are added in a fixed order.
 *  maxpool2d: parallel over planes; NaN wins, ties keep the first index (PyTorch's rule).
 */
#include "ng_internal.h"
#include "ng_threadpool.h"

#include <math.h>

typedef struct conv_ctx {
    int64_t C, H, W, KH, KW, SH, SW, PH, PW, OH, OW;
    const void *in;
    void *out;
    int64_t *idx;
} conv_ctx;

#define CONV_FUNCS(T, SUF)                                                                            \
    static void im2col_task_##SUF(void *v, int64_t b, int64_t e) {                                   \
        const conv_ctx *c = (const conv_ctx *)v;                                                      \
        const int64_t KK = c->KH * c->KW, L = c->OH * c->OW;                                          \
        for (int64_t r = b; r < e; r++) { /* r = (n*C + ch)*KK + kh*KW + kw */                       \
            const int64_t kw = r % c->KW, kh = (r / c->KW) % c->KH, plane = r / KK;                   \
            /* x may be NULL when H or W is 0 (all padding): no arithmetic on it then */              \
            const T *x = c->in ? (const T *)c->in + plane * c->H * c->W : NULL;                       \
            T *col = (T *)c->out + r * L;                                                             \
            for (int64_t oh = 0; oh < c->OH; oh++) {                                                  \
                const int64_t ih = oh * c->SH - c->PH + kh;                                           \
                T *o = col + oh * c->OW;                                                              \
                if (ih < 0 || ih >= c->H || !x) {                                                     \
                    for (int64_t ow = 0; ow < c->OW; ow++) o[ow] = 0;                                 \
                    continue;                                                                         \
                }                                                                                     \
                const T *xr = x + ih * c->W;                                                          \
                for (int64_t ow = 0; ow < c->OW; ow++) {                                              \
                    const int64_t iw = ow * c->SW - c->PW + kw;                                       \
                    o[ow] = (iw >= 0 && iw < c->W) ? xr[iw] : (T)0;                                   \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
    static void col2im_task_##SUF(void *v, int64_t b, int64_t e) {                                   \
        const conv_ctx *c = (const conv_ctx *)v;                                                      \
        const int64_t KK = c->KH * c->KW, L = c->OH * c->OW;                                          \
        for (int64_t plane = b; plane < e; plane++) {                                                 \
            T *x = (T *)c->out + plane * c->H * c->W;                                                 \
            for (int64_t kh = 0; kh < c->KH; kh++)                                                    \
                for (int64_t kw = 0; kw < c->KW; kw++) {                                              \
                    const T *col = (const T *)c->in + (plane * KK + kh * c->KW + kw) * L;             \
                    for (int64_t oh = 0; oh < c->OH; oh++) {                                          \
                        const int64_t ih = oh * c->SH - c->PH + kh;                                   \
                        if (ih < 0 || ih >= c->H) continue;                                           \
                        T *xr = x + ih * c->W;                                                        \
                        const T *o = col + oh * c->OW;                                                \
                        for (int64_t ow = 0; ow < c->OW; ow++) {                                      \
                            const int64_t iw = ow * c->SW - c->PW + kw;                               \
                            if (iw >= 0 && iw < c->W) xr[iw] += o[ow];                                \
                        }                                                                             \
                    }                                                                                 \
                }                                                                                     \
        }                                                                                             \
    }                                                                                                 \
    static void maxpool_task_##SUF(void *v, int64_t b, int64_t e) {                                  \
        const conv_ctx *c = (const conv_ctx *)v;                                                      \
        for (int64_t plane = b; plane < e; plane++) {                                                 \
            const T *x = (const T *)c->in + plane * c->H * c->W;                                      \
            T *y = (T *)c->out + plane * c->OH * c->OW;                                               \
            int64_t *id = c->idx + plane * c->OH * c->OW;                                             \
            for (int64_t oh = 0; oh < c->OH; oh++)                                                    \
                for (int64_t ow = 0; ow < c->OW; ow++) {                                              \
                    const int64_t h0 = oh * c->SH, w0 = ow * c->SW;                                   \
                    T best = (T)-INFINITY;                                                            \
                    int64_t bi = h0 * c->W + w0;                                                      \
                    for (int64_t kh = 0; kh < c->KH; kh++)                                            \
                        for (int64_t kw = 0; kw < c->KW; kw++) {                                      \
                            const int64_t p = (h0 + kh) * c->W + (w0 + kw);                           \
                            const T val = x[p];                                                       \
                            if (val > best || val != val) {                                           \
                                best = val;                                                           \
                                bi = p;                                                               \
                            }                                                                         \
                        }                                                                             \
                    y[oh * c->OW + ow] = best;                                                        \
                    id[oh * c->OW + ow] = bi;                                                         \
                }                                                                                     \
        }                                                                                             \
    }
CONV_FUNCS(float, f32)
CONV_FUNCS(double, f64)

static void run(ng_task_fn fn, int64_t items, int64_t work_per_item, conv_ctx *c) {
    const int64_t work = items * (work_per_item > 0 ? work_per_item : 1);
    if (work >= 131072 && items > 1) ng_parallel_for(items, ng_max64(1, 32768 / ng_max64(1, work_per_item)), fn, c);
    else fn(c, 0, items);
}

void ng_im2col_run(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                   int64_t SW, int64_t PH, int64_t PW, int64_t OH, int64_t OW, const void *x, void *cols) {
    conv_ctx c = {C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, x, cols, NULL};
    run(dtype == NG_F32 ? im2col_task_f32 : im2col_task_f64, N * C * KH * KW, OH * OW, &c);
}

void ng_col2im_run(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                   int64_t SW, int64_t PH, int64_t PW, int64_t OH, int64_t OW, const void *cols, void *x) {
    conv_ctx c = {C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, cols, x, NULL};
    run(dtype == NG_F32 ? col2im_task_f32 : col2im_task_f64, N * C, KH * KW * OH * OW, &c);
}

void ng_maxpool2d_run(int dtype, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
                      int64_t SH, int64_t SW, int64_t OH, int64_t OW, const void *x, void *y, int64_t *idx) {
    conv_ctx c = {C, H, W, KH, KW, SH, SW, 0, 0, OH, OW, x, y, idx};
    run(dtype == NG_F32 ? maxpool_task_f32 : maxpool_task_f64, N * C, OH * OW * KH * KW, &c);
}
