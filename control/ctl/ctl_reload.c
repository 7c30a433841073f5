/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitnctl reload: ask the gateway to reload its policy file now and print
 * the outcome (telemetry /daitn/reload). The gateway reads, validates,
 * builds and publishes on its main thread; an invalid policy is refused and
 * the running one stays.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_tel.h"

static const char usage[] =
	"usage: daitnctl reload [OPTIONS]\n"
	"\n"
	"Reload the gateway's policy file now (as SIGHUP or a change of the file\n"
	"would) and print the outcome: the version now running, or every error of\n"
	"a refused file (FILE:LINE:COL: /json/path: reason).\n"
	"Exit status: 0 reloaded, 1 refused (invalid, unreadable or not applicable;\n"
	"the running policy stays), 2 usage, 3 no gateway answers or it timed out.\n"
	"\n";

int
ctl_reload_main(int argc, char **argv)
{
	struct ctl_tel t;
	json_t *root, *r;
	const char *res;
	int rc = ctl_tel_start(&t, argc, argv, usage);

	if (rc >= 0)
		return rc;
	r = ctl_tel_query(&t, "/daitn/reload", &root);
	ctl_tel_close(&t);
	if (r == NULL)
		return CTL_EXIT_UNREACHABLE;
	res = ctl_tel_str(r, "result");
	if (!t.json) {
		printf("reload of the policy: %s\n", res);
		ctl_reload_print(r, "");
	}
	rc = strcmp(res, "ok") == 0 ? CTL_EXIT_OK : strcmp(res, "timeout") == 0 ?
	     CTL_EXIT_UNREACHABLE : CTL_EXIT_INVALID;
	json_decref(root);
	return rc;
}
