/*
 * simd_avx512.h - AVX-512F/DQ primitives behind the generic SIMD templates (same interface as simd_avx2.h).
 * Masks are __mmask16/__mmask8; tails use masked loads/stores.
 */
#ifndef NG_SIMD_AVX512_H
#define NG_SIMD_AVX512_H
#include <immintrin.h>

#define NG_ISA avx512

typedef __m512 vf;
typedef __mmask16 vfm;
typedef __m512i vfi;
typedef __m512d vd;
typedef __mmask8 vdm;
#define VF_W 16
#define VD_W 8

static inline vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
/* non-temporal store, p aligned to VF_ALIGN bytes (write-combining: no read-for-ownership; fence before publishing) */
#define VF_ALIGN 64
static inline void vf_stream(float *p, vf v) { _mm512_stream_ps(p, v); }
static inline vf vf_set1(float x) { return _mm512_set1_ps(x); }
static inline vf vf_zero(void) { return _mm512_setzero_ps(); }
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vf_fmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vf_fnmadd(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }
static inline vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf vf_sqrt(vf a) { return _mm512_sqrt_ps(a); }
static inline vf vf_round(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* a * 2^n for integral n in one rounding (denormal results included, overflow to inf): vscalefps */
#define NG_VF_HAS_SCALEF 1
static inline vf vf_scalef(vf a, vf n) { return _mm512_scalef_ps(a, n); }
static inline vf vf_and(vf a, vf b) { return _mm512_and_ps(a, b); }
static inline vf vf_or(vf a, vf b) { return _mm512_or_ps(a, b); }
static inline vf vf_xor(vf a, vf b) { return _mm512_xor_ps(a, b); }
static inline vf vf_andnot(vf a, vf b) { return _mm512_andnot_ps(a, b); }
#define vf_cmp(a, b, pred) _mm512_cmp_ps_mask((a), (b), (pred))
static inline vf vf_blend(vfm m, vf a, vf b) { return _mm512_mask_blend_ps(m, a, b); }
static inline vfm vf_mor(vfm a, vfm b) { return (vfm)(a | b); }
static inline vf vf_mask_one(vfm m) { return _mm512_maskz_mov_ps(m, _mm512_set1_ps(1.0f)); }
static inline vfi vf_cvt_i(vf a) { return _mm512_cvtps_epi32(a); }
static inline vf vfi_cvt_f(vfi a) { return _mm512_cvtepi32_ps(a); }
static inline vfi vf_as_i(vf a) { return _mm512_castps_si512(a); }
static inline vf vfi_as_f(vfi a) { return _mm512_castsi512_ps(a); }
static inline vfi vfi_set1(int x) { return _mm512_set1_epi32(x); }
static inline vfi vfi_add(vfi a, vfi b) { return _mm512_add_epi32(a, b); }
static inline vfi vfi_sub(vfi a, vfi b) { return _mm512_sub_epi32(a, b); }
static inline vfi vfi_and(vfi a, vfi b) { return _mm512_and_si512(a, b); }
static inline vfi vfi_or(vfi a, vfi b) { return _mm512_or_si512(a, b); }
#define vfi_srai(a, k) _mm512_srai_epi32((a), (k))
#define vfi_srli(a, k) _mm512_srli_epi32((a), (k))
#define vfi_slli(a, k) _mm512_slli_epi32((a), (k))
static inline vd vf_lo_d(vf a) { return _mm512_cvtps_pd(_mm512_castps512_ps256(a)); }
static inline vd vf_hi_d(vf a) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1)); }
/* max over the lanes (a shuffle tree; which NaN-ness the result has when a lane is NaN is unspecified) */
static inline float vf_hmax(vf a) { return _mm512_reduce_max_ps(a); }
static inline double vf_hsum_d(vf a) { return _mm512_reduce_add_pd(_mm512_add_pd(vf_lo_d(a), vf_hi_d(a))); }

static inline vd vd_load(const double *p) { return _mm512_loadu_pd(p); }
/* VD_W floats at p widened to doubles (the load folds into the conversion: no lane extraction) */
static inline vd vd_load_f(const float *p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
static inline void vd_store(double *p, vd v) { _mm512_storeu_pd(p, v); }
static inline void vd_stream(double *p, vd v) { _mm512_stream_pd(p, v); } /* p aligned to VF_ALIGN bytes */
static inline vd vd_set1(double x) { return _mm512_set1_pd(x); }
static inline vd vd_zero(void) { return _mm512_setzero_pd(); }
static inline vd vd_add(vd a, vd b) { return _mm512_add_pd(a, b); }
static inline vd vd_sub(vd a, vd b) { return _mm512_sub_pd(a, b); }
static inline vd vd_mul(vd a, vd b) { return _mm512_mul_pd(a, b); }
static inline vd vd_div(vd a, vd b) { return _mm512_div_pd(a, b); }
static inline vd vd_fmadd(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }
static inline vd vd_max(vd a, vd b) { return _mm512_max_pd(a, b); }
static inline vd vd_min(vd a, vd b) { return _mm512_min_pd(a, b); }
static inline vd vd_sqrt(vd a) { return _mm512_sqrt_pd(a); }
static inline vd vd_and(vd a, vd b) { return _mm512_and_pd(a, b); }
static inline vd vd_or(vd a, vd b) { return _mm512_or_pd(a, b); }
static inline vd vd_xor(vd a, vd b) { return _mm512_xor_pd(a, b); }
static inline vd vd_andnot(vd a, vd b) { return _mm512_andnot_pd(a, b); }
#define vd_cmp(a, b, pred) _mm512_cmp_pd_mask((a), (b), (pred))
static inline vd vd_blend(vdm m, vd a, vd b) { return _mm512_mask_blend_pd(m, a, b); }
static inline vdm vd_mor(vdm a, vdm b) { return (vdm)(a | b); }
static inline vd vd_mask_one(vdm m) { return _mm512_maskz_mov_pd(m, _mm512_set1_pd(1.0)); }
static inline int vd_any(vdm m) { return m != 0; }
static inline vd vd_round(vd a) { return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vd vd_floor(vd a) { return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
/* the VD_W lanes rounded to float and stored at p */
static inline void vd_store_f(float *p, vd v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v)); }
static inline double vd_hsum(vd a) { return _mm512_reduce_add_pd(a); }

#define VF_TAIL_LOAD(buf, src, cnt) ((void)(buf), _mm512_maskz_loadu_ps((__mmask16)((1u << (cnt)) - 1u), (src)))
#define VF_TAIL_STORE(buf, dst, cnt, v) _mm512_mask_storeu_ps((dst), (__mmask16)((1u << (cnt)) - 1u), (v))
#define VD_TAIL_LOAD(buf, src, cnt) ((void)(buf), _mm512_maskz_loadu_pd((__mmask8)((1u << (cnt)) - 1u), (src)))
#define VD_TAIL_STORE(buf, dst, cnt, v) _mm512_mask_storeu_pd((dst), (__mmask8)((1u << (cnt)) - 1u), (v))

#endif
