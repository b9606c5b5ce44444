/* simd_end.h - end of the target region opened by simd_begin_*.h */
#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
