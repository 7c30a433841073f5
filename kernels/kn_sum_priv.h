/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to kernels/: the per-ISA operation tables and the scalar element
 * conversions as inline functions, so that SIMD variants finish their tails
 * with exactly the reference arithmetic.
 *
 * The conversions define the behaviour every variant must reproduce bit for
 * bit. They follow what the x86 conversion instructions do, so that the SIMD
 * variants can use them where they agree:
 *   f16 -> f32   exact; a NaN keeps sign and payload and is quietened
 *                (vcvtph2ps does the same).
 *   f32 -> f16   round to nearest even, overflow to Inf, f32 denormals to
 *                +-0; a NaN keeps sign and the top 10 payload bits and is
 *                quietened (vcvtps2ph with imm 0x08 does the same).
 *   bf16 -> f32  exact bit widening (a signalling NaN stays signalling until
 *                it meets an add, which quietens it).
 *   f32 -> bf16  round to nearest even, overflow to Inf, denormals rounded
 *                like any other value (no DAZ/FTZ); a NaN keeps sign and the
 *                top 7 payload bits and is quietened. vcvtneps2bf16 flushes
 *                denormal inputs to zero, so the variants do not use it.
 * All memory access goes through memcpy: it is alias-safe, so the in-place
 * narrowing (uint16_t dst over float acc) is well defined, and it allows any
 * alignment.
 */
#ifndef KN_SUM_PRIV_H
#define KN_SUM_PRIV_H

#include <stdint.h>
#include <string.h>

#include "kn_sum.h"

extern const struct kn_ops kn_ops_scalar;
extern const struct kn_ops kn_ops_avx2;
extern const struct kn_ops kn_ops_avx512;
extern const struct kn_ops kn_ops_avx512bf16; /* AVX-512 + BF16 + DQ */

static inline uint32_t
kn_f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float
kn_bits_f32(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline float
kn_bf16_widen(uint16_t h)
{
	return kn_bits_f32((uint32_t)h << 16);
}

static inline uint16_t
kn_bf16_narrow(float f)
{
	uint32_t x = kn_f32_bits(f);

	if ((x & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((x >> 16) | 0x0040u);
	/* Adding 0x7fff plus the kept lsb rounds to nearest even; a carry out
	 * of the mantissa bumps the exponent, and from the largest finite
	 * values it lands exactly on Inf. */
	x += 0x7fffu + ((x >> 16) & 1u);
	return (uint16_t)(x >> 16);
}

static inline float
kn_f16_widen(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu;
	uint32_t man = h & 0x3ffu;

	if (exp == 0x1f)
		return kn_bits_f32(sign | 0x7f800000u |
				   (man ? 0x00400000u | (man << 13) : 0));
	/* Zero or denormal: man * 2^-24, exact in binary32 (a normal result). */
	if (exp == 0)
		return kn_bits_f32(sign | kn_f32_bits((float)man * 0x1p-24f));
	return kn_bits_f32(sign | ((exp + 127 - 15) << 23) | (man << 13));
}

static inline uint16_t
kn_f16_narrow(float f)
{
	uint32_t x = kn_f32_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
	uint32_t ax = x & 0x7fffffffu;
	uint32_t man, shift, h, rem, half;

	if (ax > 0x7f800000u)
		return sign | 0x7e00u | ((ax >> 13) & 0x3ffu);
	/* 65520 is halfway between 65504 (odd mantissa) and 2^16: ties go up. */
	if (ax >= 0x477ff000u)
		return sign | 0x7c00u;
	if (ax >= 0x38800000u) {
		/* Normal result: rebias, then round the 13 dropped bits; a carry
		 * into the exponent is the correct result. */
		h = (ax >> 13) - ((127u - 15u) << 10);
		rem = ax & 0x1fffu;
		h += rem > 0x1000u || (rem == 0x1000u && (h & 1u));
		return sign | (uint16_t)h;
	}
	/* 2^-25 is the tie between 0 and the smallest denormal: even is 0. */
	if (ax <= 0x33000000u)
		return sign;
	/* Denormal result: value in units of 2^-24 is man * 2^(exp - 126). */
	man = (ax & 0x7fffffu) | 0x800000u;
	shift = 126u - (ax >> 23);
	h = man >> shift;
	rem = man & ((1u << shift) - 1u);
	half = 1u << (shift - 1u);
	h += rem > half || (rem == half && (h & 1u));
	return sign | (uint16_t)h;
}

/* Element access through memcpy: the contract allows pointers with any
 * alignment (even odd byte addresses), which plain dereferences would make
 * undefined; compilers turn these into ordinary unaligned moves. */
static inline float
kn_ldf(const float *p, size_t i)
{
	float v;

	memcpy(&v, (const char *)p + 4 * i, sizeof(v));
	return v;
}

static inline void
kn_stf(float *p, size_t i, float v)
{
	memcpy((char *)p + 4 * i, &v, sizeof(v));
}

static inline uint32_t
kn_ldu32(const int32_t *p, size_t i)
{
	uint32_t v;

	memcpy(&v, (const char *)p + 4 * i, sizeof(v));
	return v;
}

static inline uint16_t
kn_ldu16(const uint16_t *p, size_t i)
{
	uint16_t v;

	memcpy(&v, (const char *)p + 2 * i, sizeof(v));
	return v;
}

static inline void
kn_stu16(uint16_t *p, size_t i, uint16_t v)
{
	memcpy((char *)p + 2 * i, &v, sizeof(v));
}

/* acc + src with the NaN rule of the x86 vector adds made explicit: when
 * both are NaN the result is the first operand (acc), quietened. C does not
 * let us choose that (the compiler may swap the operands of +, and does), so
 * the reference states it and the variants force it with operand order. */
static inline float
kn_add_f32(float acc, float src)
{
	uint32_t a = kn_f32_bits(acc);
	uint32_t sum = kn_f32_bits(acc + src);
	/* Branch-free select, so that the scalar loops still vectorise. */
	uint32_t nan = 0u - (uint32_t)((a & 0x7fffffffu) > 0x7f800000u);

	return kn_bits_f32((sum & ~nan) | ((a | 0x00400000u) & nan));
}

/* Reference loops, shared by the scalar variant and the SIMD tails. */
static inline void
kn_ref_sum_f32(float *acc, const float *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kn_stf(acc, i, kn_add_f32(kn_ldf(acc, i), kn_ldf(src, i)));
}

static inline void
kn_ref_sum_i32(int32_t *acc, const int32_t *src, size_t n)
{
	/* Unsigned arithmetic: wrap-around is defined, and identical to the
	 * two's-complement result the SIMD adds produce. */
	for (size_t i = 0; i < n; i++) {
		uint32_t v = kn_ldu32(acc, i) + kn_ldu32(src, i);

		memcpy((char *)acc + 4 * i, &v, sizeof(v));
	}
}

static inline void
kn_ref_sum_bf16(float *acc, const uint16_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kn_stf(acc, i, kn_add_f32(kn_ldf(acc, i), kn_bf16_widen(kn_ldu16(src, i))));
}

static inline void
kn_ref_sum_f16(float *acc, const uint16_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kn_stf(acc, i, kn_add_f32(kn_ldf(acc, i), kn_f16_widen(kn_ldu16(src, i))));
}

static inline void
kn_ref_load_bf16(float *acc, const uint16_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kn_stf(acc, i, kn_bf16_widen(kn_ldu16(src, i)));
}

static inline void
kn_ref_load_f16(float *acc, const uint16_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kn_stf(acc, i, kn_f16_widen(kn_ldu16(src, i)));
}

/* dst may alias acc: element i is read (4 bytes at 4i) before it is written
 * (2 bytes at 2i <= 4i), and the memcpy accesses keep the compiler from
 * reordering them as unrelated types. */
static inline void
kn_ref_store_bf16(uint16_t *dst, const float *acc, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kn_stu16(dst, i, kn_bf16_narrow(kn_ldf(acc, i)));
}

static inline void
kn_ref_store_f16(uint16_t *dst, const float *acc, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kn_stu16(dst, i, kn_f16_narrow(kn_ldf(acc, i)));
}

#endif /* KN_SUM_PRIV_H */
