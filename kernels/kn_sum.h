/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kn_sum: the aggregation kernels. Pure math on plain arrays; no DPDK, no state
 * beyond the variant chosen once at start-up.
 *
 * An accumulator ("acc") holds n elements: binary32 for float32, bfloat16 and
 * float16 jobs (16-bit types are widened on load and narrowed on store), int32
 * for int32 jobs (two's-complement wrap-around on overflow: the sum is exact
 * whenever the true sum fits in int32, in any order of arrival).
 *
 * Variants: a scalar reference, AVX2 (+F16C) and AVX-512 (F/BW/VL; with BF16
 * and DQ also "avx512bf16", the same ISA). kn_init() picks the best one
 * the CPU supports (or the one forced by name or by DAITN_KERNELS=scalar|avx2|
 * avx512) and must be called once, before any other thread uses kn_ops_get().
 * After that every function may be called from any thread. Every variant gives
 * bit-identical results to the scalar one, including NaN/Inf/denormal inputs;
 * pointers need no alignment; n may be any value (odd tails included).
 *
 * Rounding: narrowing binary32 -> bfloat16/float16 rounds to nearest, ties to
 * even; NaN stays NaN (quiet); overflow gives +-Inf.
 *
 * The exact bits, which every variant reproduces (kernels/kn_sum_priv.h has
 * the reference): no flush-to-zero anywhere, denormals in and out; acc + src
 * with both NaN gives acc's NaN, quietened (with one NaN, that one quietened);
 * Inf - Inf gives the x86 default NaN 0xffc00000; f16 -> f32 quietens NaNs;
 * bf16 -> f32 moves the bits up unchanged (a signalling NaN is quietened by the
 * add or by narrowing); narrowing a NaN keeps its sign and top payload bits
 * and sets the quiet bit. Assumes the default MXCSR (no FTZ/DAZ), which DPDK
 * and glibc leave alone.
 */
#ifndef KN_SUM_H
#define KN_SUM_H

#include <stddef.h>
#include <stdint.h>

enum kn_isa {
	KN_ISA_AUTO = 0,
	KN_ISA_SCALAR,
	KN_ISA_AVX2,
	KN_ISA_AVX512,
	KN_ISA_MAX
};

typedef void (*kn_sum_f32_fn_t)(float *acc, const float *src, size_t n);
typedef void (*kn_sum_i32_fn_t)(int32_t *acc, const int32_t *src, size_t n);
typedef void (*kn_sum_h16_fn_t)(float *acc, const uint16_t *src, size_t n);
typedef void (*kn_load_h16_fn_t)(float *acc, const uint16_t *src, size_t n);
typedef void (*kn_store_h16_fn_t)(uint16_t *dst, const float *acc, size_t n);

struct kn_ops {
	const char *name;            /* "scalar", "avx2", "avx512", "avx512bf16" */
	enum kn_isa isa;
	kn_sum_f32_fn_t sum_f32;     /* acc[i] += src[i] */
	kn_sum_i32_fn_t sum_i32;     /* acc[i] += src[i], wrapping */
	kn_sum_h16_fn_t sum_bf16;    /* acc[i] += widen(src[i]) */
	kn_sum_h16_fn_t sum_f16;
	kn_load_h16_fn_t load_bf16;  /* acc[i] = widen(src[i]) */
	kn_load_h16_fn_t load_f16;
	/* dst[i] = narrow(acc[i]); dst may alias acc (in-place narrowing). */
	kn_store_h16_fn_t store_bf16;
	kn_store_h16_fn_t store_f16;
};

/* Choose the variant for kn_ops_get(). isa KN_ISA_AUTO honours DAITN_KERNELS,
 * then picks the best the CPU supports. Returns 0, -ENOTSUP if the requested
 * variant is not supported by this CPU (or not built), -EINVAL on a bad name
 * in DAITN_KERNELS. Main thread, before the data path starts. */
int kn_init(enum kn_isa isa);

/* The variant chosen by kn_init() (scalar if kn_init was never called). */
const struct kn_ops *kn_ops_get(void);

/* A specific variant, or NULL if this CPU or build cannot run it. For tests
 * and benchmarks. */
const struct kn_ops *kn_ops_for(enum kn_isa isa);

/* Every variant table this CPU and build can run, at most max of them, into
 * ops; returns how many. Scalar comes first. An ISA may have more than one
 * table (AVX-512 with and without the BF16 extension, named "avx512" and
 * "avx512bf16"); kn_ops_for() returns the best of them. For tests and
 * benchmarks. */
size_t kn_ops_list(const struct kn_ops **ops, size_t max);

/* Parse "scalar" / "avx2" / "avx512" / "auto"; returns KN_ISA_MAX if unknown. */
enum kn_isa kn_isa_parse(const char *name);

/* Scalar element conversions, the reference for every variant. */
float kn_bf16_to_f32(uint16_t h);
uint16_t kn_f32_to_bf16(float f);
float kn_f16_to_f32(uint16_t h);
uint16_t kn_f32_to_f16(float f);

#endif /* KN_SUM_H */
