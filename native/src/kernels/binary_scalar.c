/*
 * binary_scalar.c - portable element-wise binary kernels.
 */
#include "ng_internal.h"
#include <math.h>

#define T float
#define M(fn) fn##f
#define S(name) name##_f32
#include "scalar_math.inc"
#include "binary_scalar.inc"
#undef T
#undef M
#undef S

#define T double
#define M(fn) fn
#define S(name) name##_f64
#include "scalar_math.inc"
#include "binary_scalar.inc"
#undef T
#undef M
#undef S

void ng_binary_init_scalar(ng_kernel_table *t) {
    init_binary_f32(t->binary[NG_F32]);
    init_binary_f64(t->binary[NG_F64]);
    memcpy(t->binary_stream, t->binary, sizeof t->binary);
}
