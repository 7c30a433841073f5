/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Variant selection. The choice is made once by kn_init() on the main thread
 * before the data path starts; the release/acquire pair on kn_active only
 * makes a late reader see a fully built table, it is not a licence to switch
 * variants under running lcores.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "kn_sum_priv.h"

static const struct kn_ops *kn_active = &kn_ops_scalar;

static const char *const kn_isa_names[KN_ISA_MAX] = {
	[KN_ISA_AUTO] = "auto",
	[KN_ISA_SCALAR] = "scalar",
	[KN_ISA_AVX2] = "avx2",
	[KN_ISA_AVX512] = "avx512",
};

enum kn_isa
kn_isa_parse(const char *name)
{
	if (name == NULL)
		return KN_ISA_MAX;
	for (int i = 0; i < KN_ISA_MAX; i++)
		if (strcmp(name, kn_isa_names[i]) == 0)
			return (enum kn_isa)i;
	return KN_ISA_MAX;
}

/* __builtin_cpu_supports() also checks that the OS saves the wider register
 * state (XCR0), so a yes here means the instructions really run. */
static int
kn_cpu_can(enum kn_isa isa)
{
	switch (isa) {
	case KN_ISA_SCALAR:
		return 1;
#if defined(__x86_64__) || defined(__i386__)
	case KN_ISA_AVX2: {
		/* F16C is CPUID.1:ECX bit 29 (clang's __builtin_cpu_supports
		 * does not know "f16c"). */
		unsigned a, b, c, d;

		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") && __get_cpuid(1, &a, &b, &c, &d) &&
		       (c & bit_F16C) != 0;
	}
	case KN_ISA_AVX512:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx512f") &&
		       __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl");
#endif
	default:
		return 0;
	}
}

/* The BF16 and DQ extensions on top of kn_cpu_can(KN_ISA_AVX512). */
static int
kn_cpu_has_avx512bf16(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512bf16") &&
	       __builtin_cpu_supports("avx512dq");
#else
	return 0;
#endif
}

/* The table of isa built in; ext asks for the one that also needs an optional
 * extension (NULL if not built or this CPU lacks it). */
static const struct kn_ops *
kn_ops_table(enum kn_isa isa, int ext)
{
	switch (isa) {
	case KN_ISA_SCALAR:
		return ext ? NULL : &kn_ops_scalar;
#ifdef KN_HAVE_AVX2
	case KN_ISA_AVX2:
		return ext ? NULL : &kn_ops_avx2;
#endif
#ifdef KN_HAVE_AVX512
	case KN_ISA_AVX512:
#ifdef KN_HAVE_AVX512BF16
		if (ext)
			return kn_cpu_has_avx512bf16() ? &kn_ops_avx512bf16 : NULL;
#endif
		return ext ? NULL : &kn_ops_avx512;
#endif
	default:
		return NULL;
	}
}

const struct kn_ops *
kn_ops_for(enum kn_isa isa)
{
	const struct kn_ops *ops;

	if (isa == KN_ISA_AUTO) {
		for (int i = KN_ISA_MAX - 1; i > KN_ISA_AUTO; i--)
			if ((ops = kn_ops_for((enum kn_isa)i)) != NULL)
				return ops;
		return &kn_ops_scalar;
	}
	if ((unsigned)isa >= KN_ISA_MAX || !kn_cpu_can(isa))
		return NULL;
	ops = kn_ops_table(isa, 1);
	return ops != NULL ? ops : kn_ops_table(isa, 0);
}

size_t
kn_ops_list(const struct kn_ops **ops, size_t max)
{
	size_t n = 0;

	for (int isa = KN_ISA_SCALAR; isa < KN_ISA_MAX; isa++) {
		if (!kn_cpu_can((enum kn_isa)isa))
			continue;
		for (int ext = 0; ext <= 1; ext++) {
			const struct kn_ops *o = kn_ops_table((enum kn_isa)isa, ext);

			if (o != NULL && n < max)
				ops[n++] = o;
		}
	}
	return n;
}

int
kn_init(enum kn_isa isa)
{
	const struct kn_ops *ops;

	if (isa == KN_ISA_AUTO) {
		const char *env = getenv("DAITN_KERNELS");

		if (env != NULL && env[0] != '\0') {
			isa = kn_isa_parse(env);
			if (isa == KN_ISA_MAX)
				return -EINVAL;
		}
	}
	if ((unsigned)isa >= KN_ISA_MAX)
		return -EINVAL;
	ops = kn_ops_for(isa);
	if (ops == NULL)
		return -ENOTSUP;
	__atomic_store_n(&kn_active, ops, __ATOMIC_RELEASE);
	return 0;
}

const struct kn_ops *
kn_ops_get(void)
{
	return __atomic_load_n(&kn_active, __ATOMIC_ACQUIRE);
}
