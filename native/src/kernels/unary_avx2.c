/* unary_avx2.c - avx2 instantiation of the vectorised unary kernels (unary_simd.inc, vmath.inc). */
#include "ng_internal.h"
#if NG_X86
#include <immintrin.h>
#include <math.h>
#include "simd_begin_avx2.h"
#include "vmath.inc"
#include "unary_simd.inc"
#include "simd_end.h"

void ng_unary_init_avx2(ng_kernel_table *t) { unary_simd_init(t); }
#else
typedef int ng_unary_avx2_unused;
#endif
