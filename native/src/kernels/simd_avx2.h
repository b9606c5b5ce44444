/*
 * simd_avx2.h - AVX2/FMA primitives behind the generic SIMD templates (vmath.inc, *_simd.inc).
 * Include only from a file compiled for avx2,fma (see NG_TARGET_BEGIN in simd_target.h).
 *
 * Naming: vf_* = 8 x float, vd_* = 4 x double. Masks are full-width vectors here (__m256/__m256d);
 * blend(m, a, b) = m ? b : a.
 */
#ifndef NG_SIMD_AVX2_H
#define NG_SIMD_AVX2_H
#include <immintrin.h>

#define NG_ISA avx2

typedef __m256 vf;
typedef __m256 vfm;
typedef __m256i vfi;
typedef __m256d vd;
typedef __m256d vdm;
#define VF_W 8
#define VD_W 4

static inline vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
/* non-temporal store, p aligned to VF_ALIGN bytes (write-combining: no read-for-ownership; fence before publishing) */
#define VF_ALIGN 32
static inline void vf_stream(float *p, vf v) { _mm256_stream_ps(p, v); }
static inline vf vf_set1(float x) { return _mm256_set1_ps(x); }
static inline vf vf_zero(void) { return _mm256_setzero_ps(); }
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vf_fnmadd(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
/* x86 max/min semantics: max(a, b) = a > b ? a : b (b if either is NaN) */
static inline vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf vf_sqrt(vf a) { return _mm256_sqrt_ps(a); }
static inline vf vf_round(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vf_and(vf a, vf b) { return _mm256_and_ps(a, b); }
static inline vf vf_or(vf a, vf b) { return _mm256_or_ps(a, b); }
static inline vf vf_xor(vf a, vf b) { return _mm256_xor_ps(a, b); }
static inline vf vf_andnot(vf a, vf b) { return _mm256_andnot_ps(a, b); }
#define vf_cmp(a, b, pred) _mm256_cmp_ps((a), (b), (pred))
static inline vf vf_blend(vfm m, vf a, vf b) { return _mm256_blendv_ps(a, b, m); }
static inline vfm vf_mor(vfm a, vfm b) { return _mm256_or_ps(a, b); }
static inline vf vf_mask_one(vfm m) { return _mm256_and_ps(m, _mm256_set1_ps(1.0f)); }
static inline vfi vf_cvt_i(vf a) { return _mm256_cvtps_epi32(a); }
static inline vf vfi_cvt_f(vfi a) { return _mm256_cvtepi32_ps(a); }
static inline vfi vf_as_i(vf a) { return _mm256_castps_si256(a); }
static inline vf vfi_as_f(vfi a) { return _mm256_castsi256_ps(a); }
static inline vfi vfi_set1(int x) { return _mm256_set1_epi32(x); }
static inline vfi vfi_add(vfi a, vfi b) { return _mm256_add_epi32(a, b); }
static inline vfi vfi_sub(vfi a, vfi b) { return _mm256_sub_epi32(a, b); }
static inline vfi vfi_and(vfi a, vfi b) { return _mm256_and_si256(a, b); }
static inline vfi vfi_or(vfi a, vfi b) { return _mm256_or_si256(a, b); }
#define vfi_srai(a, k) _mm256_srai_epi32((a), (k))
#define vfi_srli(a, k) _mm256_srli_epi32((a), (k))
#define vfi_slli(a, k) _mm256_slli_epi32((a), (k))
/* sum of the lanes, widened to double */
/* max over the lanes (a shuffle tree; which NaN-ness the result has when a lane is NaN is unspecified) */
static inline float vf_hmax(vf a) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static inline double vf_hsum_d(vf a) {
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(a)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
    __m256d s = _mm256_add_pd(lo, hi);
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}

static inline vd vd_load(const double *p) { return _mm256_loadu_pd(p); }
/* VD_W floats at p widened to doubles (the load folds into the conversion: no lane extraction) */
static inline vd vd_load_f(const float *p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
static inline void vd_store(double *p, vd v) { _mm256_storeu_pd(p, v); }
static inline void vd_stream(double *p, vd v) { _mm256_stream_pd(p, v); } /* p aligned to VF_ALIGN bytes */
static inline vd vd_set1(double x) { return _mm256_set1_pd(x); }
static inline vd vd_zero(void) { return _mm256_setzero_pd(); }
static inline vd vd_add(vd a, vd b) { return _mm256_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm256_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm256_mul_pd(a, b); }
static inline vd vd_div(vd a, vd b) { return _mm256_div_pd(a, b); }
static inline vd vd_fmadd(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
static inline vd vd_max(vd a, vd b) { return _mm256_max_pd(a, b); }
static inline vd vd_min(vd a, vd b) { return _mm256_min_pd(a, b); }
static inline vd vd_sqrt(vd a) { return _mm256_sqrt_pd(a); }
static inline vd vd_and(vd a, vd b) { return _mm256_and_pd(a, b); }
static inline vd vd_or(vd a, vd b) { return _mm256_or_pd(a, b); }
static inline vd vd_xor(vd a, vd b) { return _mm256_xor_pd(a, b); }
static inline vd vd_andnot(vd a, vd b) { return _mm256_andnot_pd(a, b); }
#define vd_cmp(a, b, pred) _mm256_cmp_pd((a), (b), (pred))
static inline vd vd_blend(vdm m, vd a, vd b) { return _mm256_blendv_pd(a, b, m); }
static inline vdm vd_mor(vdm a, vdm b) { return _mm256_or_pd(a, b); }
static inline vd vd_mask_one(vdm m) { return _mm256_and_pd(m, _mm256_set1_pd(1.0)); }
static inline int vd_any(vdm m) { return _mm256_movemask_pd(m) != 0; }
static inline vd vd_round(vd a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vd vd_floor(vd a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
/* the VD_W lanes rounded to float and stored at p */
static inline void vd_store_f(float *p, vd v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
static inline double vd_hsum(vd a) {
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}
/* widen the low / high half of a float vector to doubles */
static inline vd vf_lo_d(vf a) { return _mm256_cvtps_pd(_mm256_castps256_ps128(a)); }
static inline vd vf_hi_d(vf a) { return _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)); }

/* Tail handling: run a vector body on the last n % W elements through a zero-padded stack buffer, so every
 * element goes through exactly the same arithmetic regardless of its position. */
#define VF_TAIL_LOAD(buf, src, cnt)                                                                   \
    (memset((buf), 0, sizeof(buf)), memcpy((buf), (src), (size_t)(cnt) * sizeof(float)), vf_load(buf))
#define VF_TAIL_STORE(buf, dst, cnt, v) (vf_store((buf), (v)), memcpy((dst), (buf), (size_t)(cnt) * sizeof(float)))
#define VD_TAIL_LOAD(buf, src, cnt)                                                                   \
    (memset((buf), 0, sizeof(buf)), memcpy((buf), (src), (size_t)(cnt) * sizeof(double)), vd_load(buf))
#define VD_TAIL_STORE(buf, dst, cnt, v) (vd_store((buf), (v)), memcpy((dst), (buf), (size_t)(cnt) * sizeof(double)))

#endif
