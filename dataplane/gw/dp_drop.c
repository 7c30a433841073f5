/* SPDX-License-Identifier: BSD-3-Clause */
#include "dp_drop.h"

#define DP_DROP_NAME_(name, str) [DP_DROP_##name] = str,
static const char *const dp_drop_names[DP_DROP_MAX] = {
	DP_FATES(DP_DROP_NAME_)
};
#undef DP_DROP_NAME_

/* dp_drop_of_check() counts on the codec's failures and the PROTO_*
 * reasons being the same list in the same order. */
#define DP_DROP_SAME_(name, str)                                            \
	_Static_assert(DP_DROP_PROTO_##name - DP_DROP_PROTO_SHORT ==              \
		       DP_PROTO_CHECK_##name - DP_PROTO_CHECK_SHORT,             \
		       "dp_drop PROTO_" #name " is out of the codec's order");
DP_DROP_SAME_(SHORT, "")
DP_DROP_SAME_(BAD_MAGIC, "")
DP_DROP_SAME_(BAD_VERSION, "")
DP_DROP_SAME_(BAD_TYPE, "")
DP_DROP_SAME_(BAD_DTYPE, "")
DP_DROP_SAME_(BAD_FLAGS, "")
DP_DROP_SAME_(BAD_COUNT, "")
DP_DROP_SAME_(LENGTH_MISMATCH, "")
#undef DP_DROP_SAME_
_Static_assert(DP_PROTO_CHECK_LENGTH_MISMATCH + 1 == DP_PROTO_CHECKS,
	       "a codec verdict has no PROTO_* reason in dp_drop.h");

const char *dp_drop_name(enum dp_drop d)
{
	if ((unsigned)d >= DP_DROP_MAX)
		return "invalid";
	return dp_drop_names[d];
}
