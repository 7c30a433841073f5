/* SPDX-License-Identifier: BSD-3-Clause */
#include "dp_drop.h"

#define DP_DROP_NAME_(name, str) [DP_DROP_##name] = str,
static const char *const dp_drop_names[DP_DROP_MAX] = {
	DP_FATES(DP_DROP_NAME_)
};
#undef DP_DROP_NAME_

/* dp_drop_of_check() counts on the PROTO_* block being the codec's
 * failures, whole and in order (DP_PROTO_CHECK_FAILURES expands it). */
_Static_assert(DP_DROP_PROTO_LENGTH_MISMATCH - DP_DROP_PROTO_SHORT ==
	       DP_PROTO_CHECK_LENGTH_MISMATCH - DP_PROTO_CHECK_SHORT,
	       "the PROTO_* reasons are not the codec's verdicts");

const char *dp_drop_name(enum dp_drop d)
{
	if ((unsigned)d >= DP_DROP_MAX)
		return "invalid";
	return dp_drop_names[d];
}
