/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the policy parser (control/policy), as the gateway runs
 * it on every reload and daitnctl on every validate. The input is a policy
 * file. It must be accepted (then freed) or refused with at least one
 * diagnostic; the parser through the parse cache (kept across inputs, as
 * the gateway keeps it across reloads) must agree with the plain one.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_json.h"
#include "cp_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cp_json_cache *cache;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_diags d1 = { 0 }, d2 = { 0 };
	struct cp_policy *p1 = NULL, *p2 = NULL;
	int rc1, rc2;

	if (cache == NULL)
		cache = cp_json_cache_create();
	rc1 = cp_policy_parse((const char *)data, size, "fuzz.json", NULL, &p1, &d1);
	if (rc1 == -EINVAL)
		assert(d1.n > 0);
	assert((rc1 == 0) == (p1 != NULL));
	rc2 = cp_policy_parse_cached((const char *)data, size, "fuzz.json", NULL, cache, &p2, &d2);
	assert(rc1 == rc2 && d1.n == d2.n);
	cp_policy_free(p1);
	cp_policy_free(p2);
	cp_diags_free(&d1);
	cp_diags_free(&d2);
	return 0;
}
