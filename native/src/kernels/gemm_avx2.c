/* gemm_avx2.c - AVX2/FMA GEMM micro-kernels: f32 6x16, f64 6x8 (12 accumulators). */
#include "ng_internal.h"
#if NG_X86
#include <immintrin.h>
#include "simd_begin_avx2.h"
#define GEMM_MR_F32 6
#define GEMM_REP_F32 REP6
#define GEMM_MR_F64 6
#define GEMM_REP_F64 REP6
#include "gemm_simd.inc"
#include "simd_end.h"

void ng_gemm_init_avx2(ng_kernel_table *t) {
    t->gemm[NG_F32] = (ng_gemm_desc){6, 16, 256, 120, 3072, ukr_f32};
    t->gemm[NG_F64] = (ng_gemm_desc){6, 8, 256, 96, 1536, ukr_f64};
}
#else
typedef int ng_gemm_avx2_unused;
#endif
