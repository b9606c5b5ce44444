/* test_common.h - tiny helpers shared by the native kernel tests. */
#ifndef NG_TEST_COMMON_H
#define NG_TEST_COMMON_H

#include "nativegrad.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long g_checks, g_fails;

#define CHECK(cond, ...)                                                                              \
    do {                                                                                              \
        g_checks++;                                                                                   \
        if (!(cond)) {                                                                                \
            g_fails++;                                                                                \
            if (g_fails <= 40) {                                                                      \
                printf("FAIL %s:%d: ", __FILE__, __LINE__);                                           \
                printf(__VA_ARGS__);                                                                  \
                printf("\n");                                                                         \
            }                                                                                         \
        }                                                                                             \
    } while (0)

static const char *const g_paths[3] = {"scalar", "avx2", "avx512"};

/* Iterate over the kernel paths this CPU supports (selecting each). */
#define FOR_EACH_PATH(pname)                                                                          \
    for (int pi_ = 0; pi_ < 3; pi_++)                                                                 \
        if (ng_set_kernel_path(g_paths[pi_]) == NG_OK && ((pname) = g_paths[pi_], 1))

static inline int test_finish(const char *name) {
    printf("%s: %ld checks, %ld failures -> %s\n", name, g_checks, g_fails, g_fails ? "FAILED" : "OK");
    return g_fails ? 1 : 0;
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static inline uint64_t rng_u64(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static inline double rng_uniform(double lo, double hi) { return lo + (hi - lo) * ((double)(rng_u64() >> 11) * 0x1.0p-53); }

/* ordered integer mapping: adjacent floats differ by 1 */
static inline int64_t f32_ord(float f) {
    int32_t i;
    memcpy(&i, &f, 4);
    return i < 0 ? (int64_t)INT32_MIN - i : i;
}
static inline int64_t ulp_f32(float a, float b) {
    if (isnan(a) && isnan(b)) return 0;
    if (isnan(a) || isnan(b)) return INT64_MAX;
    int64_t d = f32_ord(a) - f32_ord(b);
    return d < 0 ? -d : d;
}

/* value comparison: NaN matches NaN, infinities must match exactly */
static inline int close_enough(double got, double want, double rtol, double atol) {
    if (isnan(want)) return isnan(got);
    if (isnan(got)) return 0;
    if (isinf(want) || isinf(got)) return got == want;
    return fabs(got - want) <= atol + rtol * fabs(want);
}

static inline void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        printf("out of memory\n");
        exit(2);
    }
    return p;
}

#endif
