/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 variant (F + BW + VL), built with only those -m flags. Tails use
 * masked loads and stores, so there is no scalar remainder loop and no access
 * beyond n elements. Every function must match kn_sum_scalar.c bit for bit;
 * tests/kernels compares them.
 *
 * Float adds go through kn_avx512_add() so that a NaN + NaN lane gives
 * the accumulator's NaN, as the reference defines.
 */
#include <immintrin.h>

#include "kn_avx512_priv.h"

static void
avx512_sum_f32(float *acc, const float *src, size_t n)
{
	size_t i = 0;

	/* Four independent vectors per iteration: enough loads in flight to
	 * keep both load ports busy at L1/L2 sizes. */
	for (; i + 4 * KN_V <= n; i += 4 * KN_V) {
		__m512 a0 = _mm512_loadu_ps(acc + i);
		__m512 a1 = _mm512_loadu_ps(acc + i + KN_V);
		__m512 a2 = _mm512_loadu_ps(acc + i + 2 * KN_V);
		__m512 a3 = _mm512_loadu_ps(acc + i + 3 * KN_V);

		a0 = kn_avx512_add(a0, _mm512_loadu_ps(src + i));
		a1 = kn_avx512_add(a1, _mm512_loadu_ps(src + i + KN_V));
		a2 = kn_avx512_add(a2, _mm512_loadu_ps(src + i + 2 * KN_V));
		a3 = kn_avx512_add(a3, _mm512_loadu_ps(src + i + 3 * KN_V));
		_mm512_storeu_ps(acc + i, a0);
		_mm512_storeu_ps(acc + i + KN_V, a1);
		_mm512_storeu_ps(acc + i + 2 * KN_V, a2);
		_mm512_storeu_ps(acc + i + 3 * KN_V, a3);
	}
	for (; i + KN_V <= n; i += KN_V)
		_mm512_storeu_ps(acc + i, kn_avx512_add(_mm512_loadu_ps(acc + i),
							_mm512_loadu_ps(src + i)));
	if (i < n) {
		__mmask16 m = kn_avx512_tail_mask(n - i);
		__m512 a = _mm512_maskz_loadu_ps(m, acc + i);

		a = kn_avx512_add(a, _mm512_maskz_loadu_ps(m, src + i));
		_mm512_mask_storeu_ps(acc + i, m, a);
	}
}

static void
avx512_sum_i32(int32_t *acc, const int32_t *src, size_t n)
{
	size_t i = 0;

	for (; i + 4 * KN_V <= n; i += 4 * KN_V) {
		__m512i a0 = _mm512_loadu_si512(acc + i);
		__m512i a1 = _mm512_loadu_si512(acc + i + KN_V);
		__m512i a2 = _mm512_loadu_si512(acc + i + 2 * KN_V);
		__m512i a3 = _mm512_loadu_si512(acc + i + 3 * KN_V);

		a0 = _mm512_add_epi32(a0, _mm512_loadu_si512(src + i));
		a1 = _mm512_add_epi32(a1, _mm512_loadu_si512(src + i + KN_V));
		a2 = _mm512_add_epi32(a2, _mm512_loadu_si512(src + i + 2 * KN_V));
		a3 = _mm512_add_epi32(a3, _mm512_loadu_si512(src + i + 3 * KN_V));
		_mm512_storeu_si512(acc + i, a0);
		_mm512_storeu_si512(acc + i + KN_V, a1);
		_mm512_storeu_si512(acc + i + 2 * KN_V, a2);
		_mm512_storeu_si512(acc + i + 3 * KN_V, a3);
	}
	for (; i + KN_V <= n; i += KN_V)
		_mm512_storeu_si512(acc + i,
				    _mm512_add_epi32(_mm512_loadu_si512(acc + i),
						     _mm512_loadu_si512(src + i)));
	if (i < n) {
		__mmask16 m = kn_avx512_tail_mask(n - i);
		__m512i a = _mm512_maskz_loadu_epi32(m, acc + i);

		a = _mm512_add_epi32(a, _mm512_maskz_loadu_epi32(m, src + i));
		_mm512_mask_storeu_epi32(acc + i, m, a);
	}
}

/* 16 bfloat16 -> 16 binary32: the bits move up by 16, exactly. */
static inline __m512
kn_bf16x16_widen(__m256i h)
{
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* vcvtph2ps: exact, NaNs quietened, as kn_f16_widen(). */
static inline __m512
kn_f16x16_widen(__m256i h)
{
	return _mm512_cvtph_ps(h);
}

/* vcvtps2ph with round-to-nearest-even: matches kn_f16_narrow() on every
 * binary32 input (checked exhaustively when the variant was written). */
static inline __m256i
kn_f16x16_narrow(__m512 f)
{
	return _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

#define KN_AVX512_SUM_H16(name, widen)                                         \
static void                                                                    \
name(float *acc, const uint16_t *src, size_t n)                                \
{                                                                              \
	size_t i = 0;                                                          \
                                                                               \
	for (; i + 2 * KN_V <= n; i += 2 * KN_V) {                             \
		__m512 a0 = _mm512_loadu_ps(acc + i);                          \
		__m512 a1 = _mm512_loadu_ps(acc + i + KN_V);                   \
		__m512 s0 = widen(_mm256_loadu_si256((const void *)(src + i))); \
		__m512 s1 = widen(_mm256_loadu_si256(                          \
					(const void *)(src + i + KN_V)));      \
		_mm512_storeu_ps(acc + i, kn_avx512_add(a0, s0));              \
		_mm512_storeu_ps(acc + i + KN_V, kn_avx512_add(a1, s1));       \
	}                                                                      \
	for (; i + KN_V <= n; i += KN_V) {                                     \
		__m512 s = widen(_mm256_loadu_si256((const void *)(src + i)));  \
		_mm512_storeu_ps(acc + i,                                      \
				 kn_avx512_add(_mm512_loadu_ps(acc + i), s));  \
	}                                                                      \
	if (i < n) {                                                           \
		__mmask16 m = kn_avx512_tail_mask(n - i);                             \
		__m512 a = _mm512_maskz_loadu_ps(m, acc + i);                  \
		__m512 s = widen(_mm256_maskz_loadu_epi16(m, src + i));        \
		_mm512_mask_storeu_ps(acc + i, m, kn_avx512_add(a, s));        \
	}                                                                      \
}

#define KN_AVX512_LOAD_H16(name, widen)                                        \
static void                                                                    \
name(float *acc, const uint16_t *src, size_t n)                                \
{                                                                              \
	size_t i = 0;                                                          \
                                                                               \
	for (; i + KN_V <= n; i += KN_V)                                       \
		_mm512_storeu_ps(acc + i, widen(_mm256_loadu_si256(            \
					(const void *)(src + i))));            \
	if (i < n) {                                                           \
		__mmask16 m = kn_avx512_tail_mask(n - i);                             \
		_mm512_mask_storeu_ps(acc + i, m,                              \
				      widen(_mm256_maskz_loadu_epi16(m, src + i))); \
	}                                                                      \
}

/* In place (dst == acc) is safe: block k is loaded before it is stored, and
 * its 16-bit results land at or before the bytes it was loaded from. */
#define KN_AVX512_STORE_H16(name, narrow)                                      \
static void                                                                    \
name(uint16_t *dst, const float *acc, size_t n)                                \
{                                                                              \
	size_t i = 0;                                                          \
                                                                               \
	for (; i + KN_V <= n; i += KN_V)                                       \
		_mm256_storeu_si256((void *)(dst + i),                         \
				    narrow(_mm512_loadu_ps(acc + i)));         \
	if (i < n) {                                                           \
		__mmask16 m = kn_avx512_tail_mask(n - i);                             \
		_mm256_mask_storeu_epi16(dst + i, m,                           \
				narrow(_mm512_maskz_loadu_ps(m, acc + i)));    \
	}                                                                      \
}

KN_AVX512_SUM_H16(avx512_sum_bf16, kn_bf16x16_widen)
KN_AVX512_SUM_H16(avx512_sum_f16, kn_f16x16_widen)
KN_AVX512_LOAD_H16(avx512_load_bf16, kn_bf16x16_widen)
KN_AVX512_LOAD_H16(avx512_load_f16, kn_f16x16_widen)
KN_AVX512_STORE_H16(avx512_store_bf16, kn_avx512_bf16x16_narrow)
KN_AVX512_STORE_H16(avx512_store_f16, kn_f16x16_narrow)

const struct kn_ops kn_ops_avx512 = {
	.name = "avx512",
	.isa = KN_ISA_AVX512,
	.sum_f32 = avx512_sum_f32,
	.sum_i32 = avx512_sum_i32,
	.sum_bf16 = avx512_sum_bf16,
	.sum_f16 = avx512_sum_f16,
	.load_bf16 = avx512_load_bf16,
	.load_f16 = avx512_load_f16,
	.store_bf16 = avx512_store_bf16,
	.store_f16 = avx512_store_f16,
};

#ifdef KN_HAVE_AVX512BF16
/* The same, narrowing bfloat16 with vcvtne2ps2bf16 where the CPU has it. */
const struct kn_ops kn_ops_avx512bf16 = {
	.name = "avx512bf16",
	.isa = KN_ISA_AVX512,
	.sum_f32 = avx512_sum_f32,
	.sum_i32 = avx512_sum_i32,
	.sum_bf16 = avx512_sum_bf16,
	.sum_f16 = avx512_sum_f16,
	.load_bf16 = avx512_load_bf16,
	.load_f16 = avx512_load_f16,
	.store_bf16 = kn_avx512bf16_store_bf16,
	.store_f16 = avx512_store_f16,
};
#endif
