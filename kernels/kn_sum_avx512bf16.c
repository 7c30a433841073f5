/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bfloat16 narrowing with vcvtne2ps2bf16 (AVX512_BF16), for the
 * "avx512bf16" table in kn_sum_avx512.c. Built with its own flags, since
 * AVX-512 CPUs without BF16 (Skylake-X, Ice Lake) run the rest of the
 * AVX-512 variant.
 *
 * The instruction rounds to nearest even and quietens NaNs exactly as
 * kn_bf16_narrow() does, but it treats denormal inputs as zero. A block of 32
 * that holds a denormal (vfpclassps, AVX512DQ) therefore takes the integer
 * path instead; zeros, which gradients are full of, do not count. Checked
 * against the reference on every binary32 input when this was written, and
 * by tests/kernels on every run.
 */
#include "kn_avx512_priv.h"

#define KN_FPCLASS_DENORMAL 0x20

/* 32 floats -> 32 bfloat16 in one vector, in element order. */
static inline __m512i
kn_bf16x32_narrow(__m512 f0, __m512 f1)
{
	__mmask16 d0 = _mm512_fpclass_ps_mask(f0, KN_FPCLASS_DENORMAL);
	__mmask16 d1 = _mm512_fpclass_ps_mask(f1, KN_FPCLASS_DENORMAL);

	if (__builtin_expect((d0 | d1) != 0, 0))
		return _mm512_inserti64x4(
			_mm512_castsi256_si512(kn_avx512_bf16x16_narrow(f0)),
			kn_avx512_bf16x16_narrow(f1), 1);
	/* The second operand fills the low half. */
	return (__m512i)_mm512_cvtne2ps_pbh(f1, f0);
}

/* In place (dst == acc) is safe: both halves of a block are loaded before
 * its 64 bytes of results land over the first of them. */
void
kn_avx512bf16_store_bf16(uint16_t *dst, const float *acc, size_t n)
{
	size_t i = 0;

	for (; i + 2 * KN_V <= n; i += 2 * KN_V) {
		__m512 f0 = _mm512_loadu_ps(acc + i);
		__m512 f1 = _mm512_loadu_ps(acc + i + KN_V);

		_mm512_storeu_si512(dst + i, kn_bf16x32_narrow(f0, f1));
	}
	for (; i < n; i += KN_V) {
		size_t left = n - i < KN_V ? n - i : KN_V;
		__mmask16 m = kn_avx512_tail_mask(left);

		_mm256_mask_storeu_epi16(dst + i, m,
			kn_avx512_bf16x16_narrow(_mm512_maskz_loadu_ps(m, acc + i)));
	}
}
