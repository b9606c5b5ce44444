/*
 * ng_cpu.c - CPU feature detection and kernel path selection.
 */
#include "ng_internal.h"
#include "ng_threadpool.h"

#include <stdatomic.h>

#if NG_X86
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    for (int i = 0; i < 4; i++) r[i] = (unsigned)v[i];
}
static unsigned long long xgetbv0(void) { return _xgetbv(0); }
#else
#include <cpuid.h>
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    r[0] = r[1] = r[2] = r[3] = 0;
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ __volatile__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
#endif

static void detect(int *has_avx2, int *has_avx512) {
    unsigned r[4];
    *has_avx2 = *has_avx512 = 0;
    cpuid(0, 0, r);
    unsigned max_leaf = r[0];
    if (max_leaf < 7) return;
    cpuid(1, 0, r);
    const unsigned ecx1 = r[2];
    const int osxsave = (ecx1 >> 27) & 1, avx = (ecx1 >> 28) & 1, fma = (ecx1 >> 12) & 1;
    if (!osxsave || !avx) return;
    unsigned long long xcr0 = xgetbv0();
    const int ymm_os = (xcr0 & 0x6) == 0x6;
    const int zmm_os = (xcr0 & 0xE6) == 0xE6;
    cpuid(7, 0, r);
    const unsigned ebx7 = r[1];
    const int avx2 = (ebx7 >> 5) & 1, avx512f = (ebx7 >> 16) & 1, avx512dq = (ebx7 >> 17) & 1;
    *has_avx2 = ymm_os && avx2 && fma;
    *has_avx512 = *has_avx2 && zmm_os && avx512f && avx512dq;
}
#endif

static ng_kernel_table tables[NG_NPATHS];
static int available[NG_NPATHS];
static int default_path;
static _Atomic(const ng_kernel_table *) current;
static int init_state;

static void init_tables(void) {
    ng_kernel_table *s = &tables[NG_PATH_SCALAR];
    memset(s, 0, sizeof *s);
    s->name = "scalar";
    ng_unary_init_scalar(s);
    ng_binary_init_scalar(s);
    ng_reduce_init_scalar(s);
    ng_softmax_init_scalar(s);
    ng_gemm_init_scalar(s);
    available[NG_PATH_SCALAR] = 1;
    default_path = NG_PATH_SCALAR;
#if NG_X86
    int has_avx2, has_avx512;
    detect(&has_avx2, &has_avx512);
    if (has_avx2) {
        ng_kernel_table *t = &tables[NG_PATH_AVX2];
        *t = *s;
        t->name = "avx2";
        ng_unary_init_avx2(t);
        ng_binary_init_avx2(t);
        ng_reduce_init_avx2(t);
        ng_softmax_init_avx2(t);
        ng_gemm_init_avx2(t);
        available[NG_PATH_AVX2] = 1;
        default_path = NG_PATH_AVX2;
    }
    if (has_avx512) {
        ng_kernel_table *t = &tables[NG_PATH_AVX512];
        *t = tables[NG_PATH_AVX2];
        t->name = "avx512";
        ng_unary_init_avx512(t);
        ng_binary_init_avx512(t);
        ng_reduce_init_avx512(t);
        ng_softmax_init_avx512(t);
        ng_gemm_init_avx512(t);
        available[NG_PATH_AVX512] = 1;
        default_path = NG_PATH_AVX512;
    }
#endif
    atomic_store(&current, &tables[default_path]);
}

const ng_kernel_table *ng_kernels(void) {
    ng_once(&init_state, init_tables);
    return atomic_load_explicit(&current, memory_order_acquire);
}

NG_API const char *ng_kernel_path(void) { return ng_kernels()->name; }

NG_API ng_status ng_set_kernel_path(const char *name) {
    ng_once(&init_state, init_tables);
    if (!name) return ng_fail(NG_ERR_INVALID_ARGUMENT, "ng_set_kernel_path: name is NULL");
    int p;
    if (strcmp(name, "scalar") == 0) p = NG_PATH_SCALAR;
    else if (strcmp(name, "avx2") == 0) p = NG_PATH_AVX2;
    else if (strcmp(name, "avx512") == 0) p = NG_PATH_AVX512;
    else return ng_fail(NG_ERR_INVALID_ARGUMENT, "ng_set_kernel_path: unknown path '%.64s' (expected scalar, avx2 or avx512)", name);
    if (!available[p])
        return ng_fail(NG_ERR_UNSUPPORTED, "ng_set_kernel_path: path '%s' is not supported by this CPU/build", name);
    atomic_store(&current, &tables[p]);
    return NG_OK;
}
