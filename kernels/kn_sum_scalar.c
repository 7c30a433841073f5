/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scalar reference variant. Every SIMD variant is tested bit for bit
 * against these functions, so they are written for clarity; the compiler may
 * still vectorise them with the baseline ISA (SSE2), which changes nothing in
 * the results: every operation is exactly rounded element by element.
 */
#include "kn_sum_priv.h"

static void
scalar_sum_f32(float *acc, const float *src, size_t n)
{
	kn_ref_sum_f32(acc, src, n);
}

static void
scalar_sum_i32(int32_t *acc, const int32_t *src, size_t n)
{
	kn_ref_sum_i32(acc, src, n);
}

static void
scalar_sum_bf16(float *acc, const uint16_t *src, size_t n)
{
	kn_ref_sum_bf16(acc, src, n);
}

static void
scalar_sum_f16(float *acc, const uint16_t *src, size_t n)
{
	kn_ref_sum_f16(acc, src, n);
}

static void
scalar_load_bf16(float *acc, const uint16_t *src, size_t n)
{
	kn_ref_load_bf16(acc, src, n);
}

static void
scalar_load_f16(float *acc, const uint16_t *src, size_t n)
{
	kn_ref_load_f16(acc, src, n);
}

static void
scalar_store_bf16(uint16_t *dst, const float *acc, size_t n)
{
	kn_ref_store_bf16(dst, acc, n);
}

static void
scalar_store_f16(uint16_t *dst, const float *acc, size_t n)
{
	kn_ref_store_f16(dst, acc, n);
}

const struct kn_ops kn_ops_scalar = {
	.name = "scalar",
	.isa = KN_ISA_SCALAR,
	.sum_f32 = scalar_sum_f32,
	.sum_i32 = scalar_sum_i32,
	.sum_bf16 = scalar_sum_bf16,
	.sum_f16 = scalar_sum_f16,
	.load_bf16 = scalar_load_bf16,
	.load_f16 = scalar_load_f16,
	.store_bf16 = scalar_store_bf16,
	.store_f16 = scalar_store_f16,
};

float
kn_bf16_to_f32(uint16_t h)
{
	return kn_bf16_widen(h);
}

uint16_t
kn_f32_to_bf16(float f)
{
	return kn_bf16_narrow(f);
}

float
kn_f16_to_f32(uint16_t h)
{
	return kn_f16_widen(h);
}

uint16_t
kn_f32_to_f16(float f)
{
	return kn_f16_narrow(f);
}
