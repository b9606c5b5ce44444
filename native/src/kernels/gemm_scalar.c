/*
 * gemm_scalar.c - portable reference GEMM micro-kernels (the compiler may auto-vectorise the j loops).
 */
#include "ng_internal.h"

#define UKR_SCALAR(T, SUF, MR, NR)                                                                    \
    static void ukr_##SUF(int64_t k, const void *ap, const void *bp, void *cp, int64_t ldc,          \
                          double alpha_, double beta_) {                                              \
        const T *NG_RESTRICT a = (const T *)ap;                                                       \
        const T *NG_RESTRICT b = (const T *)bp;                                                       \
        T *NG_RESTRICT c = (T *)cp;                                                                   \
        const T alpha = (T)alpha_, beta = (T)beta_;                                                   \
        T acc[MR][NR];                                                                                \
        for (int i = 0; i < MR; i++)                                                                  \
            for (int j = 0; j < NR; j++) acc[i][j] = 0;                                               \
        for (int64_t p = 0; p < k; p++) {                                                             \
            for (int i = 0; i < MR; i++) {                                                            \
                const T ai = a[i];                                                                    \
                for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];                                  \
            }                                                                                         \
            a += MR;                                                                                  \
            b += NR;                                                                                  \
        }                                                                                             \
        if (beta_ == 0.0) {                                                                           \
            for (int i = 0; i < MR; i++)                                                              \
                for (int j = 0; j < NR; j++) c[i * ldc + j] = alpha * acc[i][j];                      \
        } else {                                                                                      \
            for (int i = 0; i < MR; i++)                                                              \
                for (int j = 0; j < NR; j++) c[i * ldc + j] = alpha * acc[i][j] + beta * c[i * ldc + j]; \
        }                                                                                             \
    }

UKR_SCALAR(float, f32, 4, 8)
UKR_SCALAR(double, f64, 4, 4)

void ng_gemm_init_scalar(ng_kernel_table *t) {
    t->gemm[NG_F32] = (ng_gemm_desc){4, 8, 256, 128, 2048, ukr_f32};
    t->gemm[NG_F64] = (ng_gemm_desc){4, 4, 256, 128, 1024, ukr_f64};
}
