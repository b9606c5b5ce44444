/* gemm_avx2.c - placeholder (no avx2 overrides yet) */
#include "ng_internal.h"
#if NG_X86
void ng_gemm_init_avx2(ng_kernel_table *t) { (void)t; }
#else
typedef int ng_gemm_avx2_unused;
#endif
