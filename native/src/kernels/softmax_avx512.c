/* softmax_avx512.c - placeholder (no avx512 overrides yet) */
#include "ng_internal.h"
#if NG_X86
void ng_softmax_init_avx512(ng_kernel_table *t) { (void)t; }
#else
typedef int ng_softmax_avx512_unused;
#endif
