/* simd_begin_avx512.h - every function defined after this include is compiled for AVX-512F/DQ (+AVX2/FMA).
 * Pair with simd_end.h. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#endif
#include "simd_avx512.h"
