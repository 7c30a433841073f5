/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kn_fixed: float32 <-> int32 fixed point for int32 jobs (as SwitchML does).
 *
 * A value x is sent as round(x * 2^frac_bits). The gateway sums with wrap-
 * around, so the result is exact iff the true integer sum fits in int32. With
 * N workers that is guaranteed when every |x| * 2^frac_bits <= (2^31 - 1) / N;
 * kn_fixed_from_f32() enforces that bound and refuses the tensor otherwise.
 * Pure functions, any thread.
 */
#ifndef KN_FIXED_H
#define KN_FIXED_H

#include <stddef.h>
#include <stdint.h>

/* Largest |x| a worker may contribute to an N-worker job with frac_bits:
 * floor((2^31 - 1) / n_workers) / 2^frac_bits (exact); 0 if n_workers == 0. */
double kn_fixed_limit(unsigned frac_bits, unsigned n_workers);

/* dst[i] = round-to-nearest-even(src[i] * 2^frac_bits).
 * Returns 0, or -ERANGE if some src[i] is NaN/Inf or beyond
 * kn_fixed_limit(frac_bits, n_workers); then *bad_index names the first one
 * and dst is partly written. frac_bits <= 30. dst may alias src.
 * Also -EINVAL if frac_bits > 30 or n_workers == 0 (nothing written).
 * bad_index may be NULL. Rounding uses the default floating-point
 * environment (round to nearest even). */
int kn_fixed_from_f32(int32_t *dst, const float *src, size_t n,
		      unsigned frac_bits, unsigned n_workers, size_t *bad_index);

/* dst[i] = src[i] / 2^frac_bits. dst may alias src. */
void kn_fixed_to_f32(float *dst, const int32_t *src, size_t n, unsigned frac_bits);

#endif /* KN_FIXED_H */
