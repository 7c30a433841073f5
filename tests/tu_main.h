/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the CUnit test executables: run one suite (with its set-up and
 * clean-up functions, if any) verbosely; the exit status is 1 if any
 * assertion, test or suite set-up failed. */
#ifndef TU_MAIN_H
#define TU_MAIN_H

#include <CUnit/Basic.h>

static inline int
tu_run(CU_SuiteInfo suite)
{
	CU_SuiteInfo suites[] = { suite, CU_SUITE_INFO_NULL };
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		   CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures != 0;
}

/* The common case: no suite or test set-up. */
static inline int
tu_main(const char *suite, CU_TestInfo *tests)
{
	return tu_run((CU_SuiteInfo){ (char *)suite, NULL, NULL, NULL, NULL, tests });
}

#endif /* TU_MAIN_H */
