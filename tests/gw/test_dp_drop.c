/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_drop: the gateway's packet fates: every fate has a name of its
 * own, an unknown one reads "invalid", and every verdict of the wire codec
 * becomes its PROTO_* reason (OK is no drop). No EAL.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "dp_drop.h"

static void
test_unknown_fate_is_invalid(void)
{
	CU_ASSERT_STRING_EQUAL(dp_drop_name(DP_DROP_MAX), "invalid");
	CU_ASSERT_STRING_EQUAL(dp_drop_name((enum dp_drop)-1), "invalid");
}

static void
test_every_fate_has_its_own_name(void)
{
	CU_ASSERT_STRING_EQUAL(dp_drop_name(DP_DROP_PROTO_BAD_MAGIC), "proto_bad_magic");
	CU_ASSERT_STRING_EQUAL(dp_drop_name(DP_DROP_AGGREGATED), "aggregated");
	for (int a = 0; a < DP_DROP_MAX; a++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(dp_drop_name(a));
		for (int b = a + 1; b < DP_DROP_MAX; b++)
			CU_ASSERT(strcmp(dp_drop_name(a), dp_drop_name(b)) != 0);
	}
}

static void
test_each_codec_verdict_is_its_proto_reason(void)
{
	char want[64];

	CU_ASSERT_EQUAL(dp_drop_of_check(DP_PROTO_CHECK_OK), DP_DROP_NONE);
	for (int c = DP_PROTO_CHECK_SHORT; c < DP_PROTO_CHECKS; c++) {
		snprintf(want, sizeof(want), "proto_%s", dp_proto_check_name(c));
		CU_ASSERT_STRING_EQUAL(dp_drop_name(dp_drop_of_check(c)), want);
	}
}

static CU_TestInfo tests[] = {
	{ "unknown_fate_is_invalid", test_unknown_fate_is_invalid },
	{ "every_fate_has_its_own_name", test_every_fate_has_its_own_name },
	{ "each_codec_verdict_is_its_proto_reason", test_each_codec_verdict_is_its_proto_reason },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("dp_drop", tests);
}
