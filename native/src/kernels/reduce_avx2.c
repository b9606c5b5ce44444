/* reduce_avx2.c - avx2 instantiation of the vectorised reductions (reduce_simd.inc). */
#include "ng_internal.h"
#if NG_X86
#include <immintrin.h>
#include <math.h>
#include "simd_begin_avx2.h"
#include "reduce_simd.inc"
#include "simd_end.h"

void ng_reduce_init_avx2(ng_kernel_table *t) { reduce_simd_init(t); }
#else
typedef int ng_reduce_avx2_unused;
#endif
