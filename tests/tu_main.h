/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the CUnit test executables: run one suite of tests, verbosely;
 * the exit status is 1 if any assertion or test failed. */
#ifndef TU_MAIN_H
#define TU_MAIN_H

#include <CUnit/Basic.h>

static inline int
tu_main(const char *suite, CU_TestInfo *tests)
{
	CU_SuiteInfo suites[] = {
		{ (char *)suite, NULL, NULL, NULL, NULL, tests },
		CU_SUITE_INFO_NULL,
	};
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures != 0;
}

#endif /* TU_MAIN_H */
