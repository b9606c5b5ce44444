/* reduce_avx512.c - avx512 instantiation of the vectorised reductions (reduce_simd.inc). */
#include "ng_internal.h"
#if NG_X86
#include <immintrin.h>
#include <math.h>
#include "simd_begin_avx512.h"
#include "reduce_simd.inc"
#include "simd_end.h"

void ng_reduce_init_avx512(ng_kernel_table *t) { reduce_simd_init(t); }
#else
typedef int ng_reduce_avx512_unused;
#endif
