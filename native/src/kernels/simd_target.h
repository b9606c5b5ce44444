/*
 * simd_target.h - compile the rest of a translation unit for an x86 ISA extension without global -m flags.
 *   #define NG_TARGET "avx2,fma"   (or "avx512f,avx512dq,avx2,fma")
 *   #include "simd_target.h"       -> every function defined afterwards gets the target attribute
 * The CPU check in ng_cpu.c guarantees these functions only run where the ISA exists.
 */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target(NG_TARGET))), apply_to = function)
#define NG_TARGET_END _Pragma("clang attribute pop")
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target(NG_TARGET)
#define NG_TARGET_END _Pragma("GCC pop_options")
#else
#error "SIMD kernels need GCC or Clang"
#endif
