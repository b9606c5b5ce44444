/*
 * unary_scalar.c - portable element-wise unary kernels (libm; float functions for f32).
 */
#include "ng_internal.h"
#include <math.h>

#define T float
#define M(fn) fn##f
#define S(name) name##_f32
#include "scalar_math.inc"
#include "unary_scalar.inc"
#undef T
#undef M
#undef S

#define T double
#define M(fn) fn
#define S(name) name##_f64
#include "scalar_math.inc"
#include "unary_scalar.inc"
#undef T
#undef M
#undef S

void ng_unary_init_scalar(ng_kernel_table *t) {
    init_unary_f32(t->unary[NG_F32]);
    init_unary_f64(t->unary[NG_F64]);
}
