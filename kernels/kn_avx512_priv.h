/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to kernels/: inline AVX-512 (F + BW + VL) helpers shared by the
 * AVX-512 files. Include only from files built with at least those flags.
 */
#ifndef KN_AVX512_PRIV_H
#define KN_AVX512_PRIV_H

#include <immintrin.h>

#include "kn_sum_priv.h"

#define KN_V 16 /* float32 lanes per vector */

/* vaddps with acc as the first source, which x86 returns when both operands
 * are NaN (as kn_add_f32() states). _mm512_add_ps() would leave the order to
 * the compiler, which swaps operands of a commutative add at will. AT&T
 * order: src2, src1, dst. */
static inline __m512
kn_avx512_add(__m512 acc, __m512 src)
{
	__m512 r;

	__asm__("vaddps %2, %1, %0" : "=v"(r) : "v"(acc), "vm"(src));
	return r;
}

static inline __mmask16
kn_avx512_tail_mask(size_t left)
{
	return (__mmask16)((1u << left) - 1u);
}

/* Rounding in integer arithmetic, as kn_bf16_narrow(); vcvtneps2bf16 would
 * flush denormal inputs to zero. */
static inline __m256i
kn_avx512_bf16x16_narrow(__m512 f)
{
	__m512i x = _mm512_castps_si512(f);
	__m512i hi = _mm512_srli_epi32(x, 16);
	__m512i lsb = _mm512_and_si512(hi, _mm512_set1_epi32(1));
	__m512i r = _mm512_add_epi32(x, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
	__mmask16 nan = _mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q);

	r = _mm512_srli_epi32(r, 16);
	r = _mm512_mask_or_epi32(r, nan, hi, _mm512_set1_epi32(0x40));
	return _mm512_cvtepi32_epi16(r);
}

void kn_avx512bf16_store_bf16(uint16_t *dst, const float *acc, size_t n);

#endif /* KN_AVX512_PRIV_H */
