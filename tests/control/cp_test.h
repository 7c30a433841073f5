/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the control-plane test executables: run one CUnit suite. */
#ifndef CP_TEST_H
#define CP_TEST_H

#include "../tu_main.h"

#define cp_test_main tu_main

#endif /* CP_TEST_H */
