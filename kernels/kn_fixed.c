/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * float32 <-> int32 fixed point. The client converts every int32-job tensor,
 * so the loops stay branch-light: scaling by 2^frac_bits is exact in binary32
 * (a power of two, and anything that would overflow is refused anyway), which
 * leaves the rounding to a single float -> int conversion.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#if defined(__SSE__)
#include <immintrin.h>
#endif

#include "kn_fixed.h"

#define KN_FIXED_MAX_FRAC_BITS 30

/* Largest integer each of n workers may contribute so that the sum of all n
 * still fits in int32: n * floor((2^31 - 1) / n) <= 2^31 - 1. */
static uint32_t
kn_fixed_int_limit(unsigned n_workers)
{
	return (uint32_t)INT32_MAX / n_workers;
}

double
kn_fixed_limit(unsigned frac_bits, unsigned n_workers)
{
	if (n_workers == 0)
		return 0.0;
	return ldexp((double)kn_fixed_int_limit(n_workers), -(int)frac_bits);
}

/* Round to nearest, ties to even, in the default floating-point environment
 * (the client never changes the rounding mode). |y| < 2^31 here. */
static inline int32_t
kn_fixed_round(float y)
{
#if defined(__SSE__)
	return _mm_cvtss_si32(_mm_set_ss(y));
#else
	return (int32_t)lrintf(y);
#endif
}

int
kn_fixed_from_f32(int32_t *dst, const float *src, size_t n,
		  unsigned frac_bits, unsigned n_workers, size_t *bad_index)
{
	float scale, lim;
	uint32_t ilim;

	if (frac_bits > KN_FIXED_MAX_FRAC_BITS || n_workers == 0)
		return -EINVAL;
	scale = ldexpf(1.0f, (int)frac_bits);
	ilim = kn_fixed_int_limit(n_workers);
	/* The largest float not above the integer limit: |x * 2^f| <= lim is then
	 * exactly |x| <= kn_fixed_limit(), with no double compare per element. */
	lim = (float)ilim;
	if ((double)lim > (double)ilim)
		lim = nextafterf(lim, 0.0f);

	for (size_t i = 0; i < n; i++) {
		float x, y;
		int32_t v;

		memcpy(&x, (const char *)src + 4 * i, sizeof(x));
		y = x * scale;
		/* Written so that NaN fails the test too. */
		if (!(fabsf(y) <= lim)) {
			if (bad_index != NULL)
				*bad_index = i;
			return -ERANGE;
		}
		v = kn_fixed_round(y);
		memcpy((char *)dst + 4 * i, &v, sizeof(v));
	}
	return 0;
}

void
kn_fixed_to_f32(float *dst, const int32_t *src, size_t n, unsigned frac_bits)
{
	/* int -> float rounds once (to nearest even); the power-of-two scaling
	 * after it is exact, so this is the correctly rounded src / 2^f. */
	float inv = ldexpf(1.0f, -(int)frac_bits);

	for (size_t i = 0; i < n; i++) {
		int32_t v;
		float f;

		memcpy(&v, (const char *)src + 4 * i, sizeof(v));
		f = (float)v * inv;
		memcpy((char *)dst + 4 * i, &f, sizeof(f));
	}
}
