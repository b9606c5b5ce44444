/* softmax_avx2.c - avx2 instantiation of the vectorised f32 softmax rows (softmax_simd.inc). */
#include "ng_internal.h"
#if NG_X86
#include <immintrin.h>
#include <math.h>
#include "simd_begin_avx2.h"
#include "vmath.inc"
#include "softmax_simd.inc"
#include "simd_end.h"

void ng_softmax_init_avx2(ng_kernel_table *t) { softmax_simd_init(t); }
#else
typedef int ng_softmax_avx2_unused;
#endif
