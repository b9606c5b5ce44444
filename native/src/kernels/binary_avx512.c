/* binary_avx512.c - avx512 instantiation of the vectorised binary row kernels (binary_simd.inc, vmath.inc). */
#include "ng_internal.h"
#if NG_X86
#include <immintrin.h>
#include "simd_begin_avx512.h"
#include "vmath.inc"
#include "binary_simd.inc"
#include "simd_end.h"

void ng_binary_init_avx512(ng_kernel_table *t) { binary_simd_init(t); }
#else
typedef int ng_binary_avx512_unused;
#endif
