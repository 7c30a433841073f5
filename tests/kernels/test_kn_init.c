/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite kn_init: variant selection. kn_ops_get() before kn_init(), names,
 * DAITN_KERNELS, forcing scalar, and refusing what the CPU cannot run. The
 * tests run in registration order: the first one needs a fresh process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "kn_sum.h"
#include "kn_test_priv.h"

/* What the CPU offers, found independently of kernels/. */
static int cpu_avx2, cpu_avx512, cpu_avx512bf16;

static int
suite_init(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	__builtin_cpu_init();
	/* F16C: CPUID.1:ECX bit 29 (clang has no "f16c" feature string). */
	cpu_avx2 = __builtin_cpu_supports("avx2") && __get_cpuid(1, &a, &b, &c, &d) &&
		   (c & bit_F16C) != 0;
	cpu_avx512 = __builtin_cpu_supports("avx512f") &&
		     __builtin_cpu_supports("avx512bw") &&
		     __builtin_cpu_supports("avx512vl");
	cpu_avx512bf16 = cpu_avx512 && __builtin_cpu_supports("avx512bf16") &&
			 __builtin_cpu_supports("avx512dq");
#endif
	printf("kn_init: CPU avx2+f16c %s, avx512f/bw/vl %s, +bf16/dq %s\n",
	       cpu_avx2 ? "yes" : "no", cpu_avx512 ? "yes" : "no",
	       cpu_avx512bf16 ? "yes" : "no");
	return unsetenv("DAITN_KERNELS");
}

static void
test_ops_get_before_init_is_scalar(void)
{
	CU_ASSERT_PTR_EQUAL(kn_ops_get(), kn_ops_for(KN_ISA_SCALAR));
	CU_ASSERT_STRING_EQUAL(kn_ops_get()->name, "scalar");
}

static void
test_bad_names_and_isas_are_refused(void)
{
	CU_ASSERT_EQUAL(kn_isa_parse(NULL), KN_ISA_MAX);
	CU_ASSERT_EQUAL(kn_isa_parse(""), KN_ISA_MAX);
	CU_ASSERT_EQUAL(kn_isa_parse("AVX512"), KN_ISA_MAX);
	CU_ASSERT_EQUAL(kn_isa_parse("avx512 "), KN_ISA_MAX);
	CU_ASSERT_EQUAL(kn_isa_parse("sse"), KN_ISA_MAX);
	CU_ASSERT_EQUAL(kn_init(KN_ISA_MAX), -EINVAL);
	CU_ASSERT_EQUAL(kn_init((enum kn_isa)-1), -EINVAL);
	CU_ASSERT_PTR_NULL(kn_ops_for(KN_ISA_MAX));

	CU_ASSERT_EQUAL_FATAL(setenv("DAITN_KERNELS", "avx9000", 1), 0);
	CU_ASSERT_EQUAL(kn_init(KN_ISA_AUTO), -EINVAL);
	/* A refused choice leaves the previous one in place. */
	CU_ASSERT_STRING_EQUAL(kn_ops_get()->name, "scalar");
	unsetenv("DAITN_KERNELS");
}

static void
test_variant_the_cpu_lacks_is_refused(void)
{
	if (!cpu_avx512) {
		CU_ASSERT_PTR_NULL(kn_ops_for(KN_ISA_AVX512));
		CU_ASSERT_EQUAL(kn_init(KN_ISA_AVX512), -ENOTSUP);
		CU_ASSERT_EQUAL_FATAL(setenv("DAITN_KERNELS", "avx512", 1), 0);
		CU_ASSERT_EQUAL(kn_init(KN_ISA_AUTO), -ENOTSUP);
		unsetenv("DAITN_KERNELS");
	}
	if (!cpu_avx2) {
		CU_ASSERT_PTR_NULL(kn_ops_for(KN_ISA_AVX2));
		CU_ASSERT_EQUAL(kn_init(KN_ISA_AVX2), -ENOTSUP);
	}
	if (cpu_avx2 && cpu_avx512)
		printf("(CPU has every variant: nothing to refuse) ");
	CU_ASSERT_STRING_EQUAL(kn_ops_get()->name, "scalar");
}

static void
test_names_parse_back_to_their_isa(void)
{
	const struct kn_ops *all[8];
	size_t n = kn_ops_list(all, 8);

	CU_ASSERT_FATAL(n >= 1);
	CU_ASSERT_PTR_EQUAL(all[0], kn_ops_for(KN_ISA_SCALAR));
	CU_ASSERT_EQUAL(kn_ops_list(all, 1), 1);
	n = kn_ops_list(all, 8);
	for (size_t i = 0; i < n; i++) {
		const struct kn_ops *o = all[i];

		CU_ASSERT(o->isa > KN_ISA_AUTO && o->isa < KN_ISA_MAX);
		/* "avx512bf16" is the AVX-512 variant with one extension. */
		if (strcmp(o->name, "avx512bf16") == 0) {
			CU_ASSERT_EQUAL(o->isa, KN_ISA_AVX512);
		} else {
			CU_ASSERT_EQUAL(kn_isa_parse(o->name), o->isa);
		}
		CU_ASSERT_PTR_NOT_NULL(o->sum_f32);
		CU_ASSERT_PTR_NOT_NULL(o->sum_i32);
		CU_ASSERT_PTR_NOT_NULL(o->sum_bf16);
		CU_ASSERT_PTR_NOT_NULL(o->sum_f16);
		CU_ASSERT_PTR_NOT_NULL(o->load_bf16);
		CU_ASSERT_PTR_NOT_NULL(o->load_f16);
		CU_ASSERT_PTR_NOT_NULL(o->store_bf16);
		CU_ASSERT_PTR_NOT_NULL(o->store_f16);
	}
	CU_ASSERT_EQUAL(n, (size_t)(1 + cpu_avx2 + cpu_avx512 + cpu_avx512bf16));
	CU_ASSERT_EQUAL(kn_isa_parse("auto"), KN_ISA_AUTO);
}

static void
test_auto_picks_best_variant_the_cpu_runs(void)
{
	const char *want = cpu_avx512bf16 ? "avx512bf16" : cpu_avx512 ? "avx512" :
			   cpu_avx2 ? "avx2" : "scalar";

	CU_ASSERT_EQUAL(kn_init(KN_ISA_AUTO), 0);
	CU_ASSERT_STRING_EQUAL(kn_ops_get()->name, want);
	CU_ASSERT_PTR_EQUAL(kn_ops_get(), kn_ops_for(KN_ISA_AUTO));
	CU_ASSERT_EQUAL_FATAL(setenv("DAITN_KERNELS", "auto", 1), 0);
	CU_ASSERT_EQUAL(kn_init(KN_ISA_AUTO), 0);
	CU_ASSERT_STRING_EQUAL(kn_ops_get()->name, want);
	unsetenv("DAITN_KERNELS");
}

static void
test_environment_and_argument_force_a_variant(void)
{
	CU_ASSERT_EQUAL_FATAL(setenv("DAITN_KERNELS", "scalar", 1), 0);
	CU_ASSERT_EQUAL(kn_init(KN_ISA_AUTO), 0);
	CU_ASSERT_STRING_EQUAL(kn_ops_get()->name, "scalar");
	if (cpu_avx2) {
		CU_ASSERT_EQUAL_FATAL(setenv("DAITN_KERNELS", "avx2", 1), 0);
		CU_ASSERT_EQUAL(kn_init(KN_ISA_AUTO), 0);
		CU_ASSERT_STRING_EQUAL(kn_ops_get()->name, "avx2");
	}
	if (cpu_avx512) {
		CU_ASSERT_EQUAL_FATAL(setenv("DAITN_KERNELS", "avx512", 1), 0);
		CU_ASSERT_EQUAL(kn_init(KN_ISA_AUTO), 0);
		CU_ASSERT_EQUAL(kn_ops_get()->isa, KN_ISA_AVX512);
	}
	/* An explicit argument wins over the environment. */
	CU_ASSERT_EQUAL_FATAL(setenv("DAITN_KERNELS", "avx512", 1), 0);
	CU_ASSERT_EQUAL(kn_init(KN_ISA_SCALAR), 0);
	CU_ASSERT_STRING_EQUAL(kn_ops_get()->name, "scalar");
	unsetenv("DAITN_KERNELS");
}

int
main(void)
{
	static const struct kn_test_case cases[] = {
		{ "ops_get_before_init_is_scalar", test_ops_get_before_init_is_scalar },
		{ "bad_names_and_isas_are_refused", test_bad_names_and_isas_are_refused },
		{ "variant_the_cpu_lacks_is_refused", test_variant_the_cpu_lacks_is_refused },
		{ "names_parse_back_to_their_isa", test_names_parse_back_to_their_isa },
		{ "auto_picks_best_variant_the_cpu_runs",
		  test_auto_picks_best_variant_the_cpu_runs },
		{ "environment_and_argument_force_a_variant",
		  test_environment_and_argument_force_a_variant },
		{ NULL, NULL },
	};

	return kn_test_run("kn_init", suite_init, cases);
}
