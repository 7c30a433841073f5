/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the kernels test suites: a seeded PRNG (so a failure can
 * be replayed with DAITN_TEST_SEED) and the CUnit run boilerplate.
 */
#ifndef KN_TEST_PRIV_H
#define KN_TEST_PRIV_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

static uint64_t kn_test_rng_state = 0x9e3779b97f4a7c15ull;

static inline void
kn_test_seed(const char *suite)
{
	const char *env = getenv("DAITN_TEST_SEED");

	if (env != NULL && env[0] != '\0')
		kn_test_rng_state = strtoull(env, NULL, 0) | 1;
	printf("%s: seed 0x%llx (replay with DAITN_TEST_SEED)\n", suite,
	       (unsigned long long)kn_test_rng_state);
}

/* xorshift64*: plenty for test data, and identical on every run. */
static inline uint64_t
kn_test_rand64(void)
{
	uint64_t x = kn_test_rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	kn_test_rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static inline uint32_t
kn_test_rand32(void)
{
	return (uint32_t)(kn_test_rand64() >> 32);
}

static inline float
kn_test_f32_of(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline uint32_t
kn_test_bits_of(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/* Register one suite with its tests (NULL-terminated) and run it in verbose
 * mode. Returns the process exit status: 0, or 1 on any failure. */
struct kn_test_case {
	const char *name;
	CU_TestFunc fn;
};

static inline int
kn_test_run(const char *suite_name, CU_InitializeFunc init,
	    const struct kn_test_case *cases)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite(suite_name, init, NULL);
	if (suite == NULL)
		goto fail_registry;
	for (const struct kn_test_case *c = cases; c->name != NULL; c++)
		if (CU_add_test(suite, c->name, c->fn) == NULL)
			goto fail_registry;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;

fail_registry:
	fprintf(stderr, "%s: CUnit registration failed: %s\n", suite_name,
		CU_get_error_msg());
	CU_cleanup_registry();
	return 1;
}

#endif /* KN_TEST_PRIV_H */
