/* gemm_avx512.c - AVX-512 GEMM micro-kernels: f32 12x32, f64 12x16 (24 zmm accumulators). */
#include "ng_internal.h"
#if NG_X86
#include <immintrin.h>
#include "simd_begin_avx512.h"
#define GEMM_MR_F32 12
#define GEMM_REP_F32 REP12
#define GEMM_MR_F64 12
#define GEMM_REP_F64 REP12
#include "gemm_simd.inc"
#include "simd_end.h"

void ng_gemm_init_avx512(ng_kernel_table *t) {
    t->gemm[NG_F32] = (ng_gemm_desc){12, 32, 256, 240, 3072, ukr_f32};
    t->gemm[NG_F64] = (ng_gemm_desc){12, 16, 256, 120, 1536, ukr_f64};
}
#else
typedef int ng_gemm_avx512_unused;
#endif
