/* simd_begin_avx2.h - every function defined after this include is compiled for AVX2+FMA (no global -m
 * flags; ng_cpu.c only dispatches here when CPUID and the OS report support). Pair with simd_end.h. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include "simd_avx2.h"
