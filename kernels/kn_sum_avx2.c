/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + F16C variant, built with only those -m flags. AVX2 has no byte- or
 * word-granular masked stores, so the last n % 8 (or % 16) elements go
 * through the scalar reference loops from kn_sum_priv.h, which are the
 * definition of the result anyway. Every function must match
 * kn_sum_scalar.c bit for bit; tests/kernels compares them.
 *
 * Float adds go through kn_add_acc_first() so that a NaN + NaN lane gives
 * the accumulator's NaN, as the reference defines.
 */
#include <immintrin.h>

#include "kn_sum_priv.h"

#define KN_V 8 /* float32 lanes per vector */

/* vaddps with acc as the first source, which x86 returns when both operands
 * are NaN (as kn_add_f32() states). _mm256_add_ps() would leave the order to
 * the compiler, which swaps operands of a commutative add at will. AT&T
 * order: src2, src1, dst. */
static inline __m256
kn_add_acc_first(__m256 acc, __m256 src)
{
	__m256 r;

	__asm__("vaddps %2, %1, %0" : "=x"(r) : "x"(acc), "xm"(src));
	return r;
}

static void
avx2_sum_f32(float *acc, const float *src, size_t n)
{
	size_t i = 0;

	for (; i + 4 * KN_V <= n; i += 4 * KN_V) {
		__m256 a0 = _mm256_loadu_ps(acc + i);
		__m256 a1 = _mm256_loadu_ps(acc + i + KN_V);
		__m256 a2 = _mm256_loadu_ps(acc + i + 2 * KN_V);
		__m256 a3 = _mm256_loadu_ps(acc + i + 3 * KN_V);

		a0 = kn_add_acc_first(a0, _mm256_loadu_ps(src + i));
		a1 = kn_add_acc_first(a1, _mm256_loadu_ps(src + i + KN_V));
		a2 = kn_add_acc_first(a2, _mm256_loadu_ps(src + i + 2 * KN_V));
		a3 = kn_add_acc_first(a3, _mm256_loadu_ps(src + i + 3 * KN_V));
		_mm256_storeu_ps(acc + i, a0);
		_mm256_storeu_ps(acc + i + KN_V, a1);
		_mm256_storeu_ps(acc + i + 2 * KN_V, a2);
		_mm256_storeu_ps(acc + i + 3 * KN_V, a3);
	}
	for (; i + KN_V <= n; i += KN_V)
		_mm256_storeu_ps(acc + i, kn_add_acc_first(_mm256_loadu_ps(acc + i),
							_mm256_loadu_ps(src + i)));
	kn_ref_sum_f32(acc + i, src + i, n - i);
}

static void
avx2_sum_i32(int32_t *acc, const int32_t *src, size_t n)
{
	size_t i = 0;

	for (; i + 4 * KN_V <= n; i += 4 * KN_V) {
		__m256i a0 = _mm256_loadu_si256((void *)(acc + i));
		__m256i a1 = _mm256_loadu_si256((void *)(acc + i + KN_V));
		__m256i a2 = _mm256_loadu_si256((void *)(acc + i + 2 * KN_V));
		__m256i a3 = _mm256_loadu_si256((void *)(acc + i + 3 * KN_V));

		a0 = _mm256_add_epi32(a0, _mm256_loadu_si256((const void *)(src + i)));
		a1 = _mm256_add_epi32(a1, _mm256_loadu_si256((const void *)(src + i + KN_V)));
		a2 = _mm256_add_epi32(a2, _mm256_loadu_si256((const void *)(src + i + 2 * KN_V)));
		a3 = _mm256_add_epi32(a3, _mm256_loadu_si256((const void *)(src + i + 3 * KN_V)));
		_mm256_storeu_si256((void *)(acc + i), a0);
		_mm256_storeu_si256((void *)(acc + i + KN_V), a1);
		_mm256_storeu_si256((void *)(acc + i + 2 * KN_V), a2);
		_mm256_storeu_si256((void *)(acc + i + 3 * KN_V), a3);
	}
	for (; i + KN_V <= n; i += KN_V) {
		__m256i a = _mm256_loadu_si256((void *)(acc + i));

		a = _mm256_add_epi32(a, _mm256_loadu_si256((const void *)(src + i)));
		_mm256_storeu_si256((void *)(acc + i), a);
	}
	kn_ref_sum_i32(acc + i, src + i, n - i);
}

static inline __m256
kn_bf16x8_widen(__m128i h)
{
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* vcvtph2ps: exact, NaNs quietened, as kn_f16_widen(). */
static inline __m256
kn_f16x8_widen(__m128i h)
{
	return _mm256_cvtph_ps(h);
}

/* Integer rounding as kn_bf16_narrow(); yields 8 results in the low 16 bits
 * of each 32-bit lane. */
static inline __m256i
kn_bf16x8_round(__m256 f)
{
	__m256i x = _mm256_castps_si256(f);
	__m256i hi = _mm256_srli_epi32(x, 16);
	__m256i lsb = _mm256_and_si256(hi, _mm256_set1_epi32(1));
	__m256i r = _mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
	__m256i nan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
	__m256i q = _mm256_or_si256(hi, _mm256_set1_epi32(0x40));

	return _mm256_blendv_epi8(_mm256_srli_epi32(r, 16), q, nan);
}

/* 16 floats -> 16 bfloat16. packus works within 128-bit lanes, so the
 * 64-bit quarters come out as (0 lo, 1 lo, 0 hi, 1 hi) and need a permute.
 * Saturation never triggers: every lane is already below 2^16. */
static inline __m256i
kn_bf16x16_narrow(__m256 f0, __m256 f1)
{
	__m256i p = _mm256_packus_epi32(kn_bf16x8_round(f0), kn_bf16x8_round(f1));

	return _mm256_permute4x64_epi64(p, 0xd8);
}

/* vcvtps2ph's rounding mode is an immediate: a macro, not a variable (clang
 * insists on a constant expression). */
#define KN_F16_ROUND (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

static inline __m256i
kn_f16x16_narrow(__m256 f0, __m256 f1)
{
	return _mm256_set_m128i(_mm256_cvtps_ph(f1, KN_F16_ROUND), _mm256_cvtps_ph(f0, KN_F16_ROUND));
}

#define KN_AVX2_SUM_H16(name, widen, ref)                                      \
static void                                                                    \
name(float *acc, const uint16_t *src, size_t n)                                \
{                                                                              \
	size_t i = 0;                                                          \
                                                                               \
	for (; i + 2 * KN_V <= n; i += 2 * KN_V) {                             \
		__m256i h = _mm256_loadu_si256((const void *)(src + i));       \
		__m256 s0 = widen(_mm256_castsi256_si128(h));                  \
		__m256 s1 = widen(_mm256_extracti128_si256(h, 1));             \
		_mm256_storeu_ps(acc + i,                                      \
				 kn_add_acc_first(_mm256_loadu_ps(acc + i), s0)); \
		_mm256_storeu_ps(acc + i + KN_V,                               \
				 kn_add_acc_first(_mm256_loadu_ps(acc + i + KN_V), s1)); \
	}                                                                      \
	for (; i + KN_V <= n; i += KN_V) {                                     \
		__m256 s = widen(_mm_loadu_si128((const void *)(src + i)));    \
		_mm256_storeu_ps(acc + i,                                      \
				 kn_add_acc_first(_mm256_loadu_ps(acc + i), s));  \
	}                                                                      \
	ref(acc + i, src + i, n - i);                                          \
}

#define KN_AVX2_LOAD_H16(name, widen, ref)                                     \
static void                                                                    \
name(float *acc, const uint16_t *src, size_t n)                                \
{                                                                              \
	size_t i = 0;                                                          \
                                                                               \
	for (; i + KN_V <= n; i += KN_V)                                       \
		_mm256_storeu_ps(acc + i,                                      \
				 widen(_mm_loadu_si128((const void *)(src + i)))); \
	ref(acc + i, src + i, n - i);                                          \
}

/* In place (dst == acc) is safe: a block of 16 is loaded whole before its
 * 16-bit results are stored, at or before the bytes it was loaded from. */
#define KN_AVX2_STORE_H16(name, narrow, ref)                                   \
static void                                                                    \
name(uint16_t *dst, const float *acc, size_t n)                                \
{                                                                              \
	size_t i = 0;                                                          \
                                                                               \
	for (; i + 2 * KN_V <= n; i += 2 * KN_V) {                             \
		__m256 f0 = _mm256_loadu_ps(acc + i);                          \
		__m256 f1 = _mm256_loadu_ps(acc + i + KN_V);                   \
		_mm256_storeu_si256((void *)(dst + i), narrow(f0, f1));        \
	}                                                                      \
	ref(dst + i, acc + i, n - i);                                          \
}

KN_AVX2_SUM_H16(avx2_sum_bf16, kn_bf16x8_widen, kn_ref_sum_bf16)
KN_AVX2_SUM_H16(avx2_sum_f16, kn_f16x8_widen, kn_ref_sum_f16)
KN_AVX2_LOAD_H16(avx2_load_bf16, kn_bf16x8_widen, kn_ref_load_bf16)
KN_AVX2_LOAD_H16(avx2_load_f16, kn_f16x8_widen, kn_ref_load_f16)
KN_AVX2_STORE_H16(avx2_store_bf16, kn_bf16x16_narrow, kn_ref_store_bf16)
KN_AVX2_STORE_H16(avx2_store_f16, kn_f16x16_narrow, kn_ref_store_f16)

const struct kn_ops kn_ops_avx2 = {
	.name = "avx2",
	.isa = KN_ISA_AVX2,
	.sum_f32 = avx2_sum_f32,
	.sum_i32 = avx2_sum_i32,
	.sum_bf16 = avx2_sum_bf16,
	.sum_f16 = avx2_sum_f16,
	.load_bf16 = avx2_load_bf16,
	.load_f16 = avx2_load_f16,
	.store_bf16 = avx2_store_bf16,
	.store_f16 = avx2_store_f16,
};
