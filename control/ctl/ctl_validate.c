/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitnctl validate: load a policy, and optionally the gateway configuration
 * whose limits it must fit, exactly as the gateway would, and print every
 * problem as FILE:LINE:COL: /json/path: reason on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_config.h"
#include "cp_json.h"
#include "cp_policy.h"
#include "ctl.h"

static void
validate_usage(FILE *out)
{
	fprintf(out,
		"usage: daitnctl validate [--config GATEWAY.json] [-q] [POLICY.json]\n"
		"\n"
		"Check POLICY.json without a running gateway. With --config, check the\n"
		"gateway configuration too, and the policy against what that gateway has\n"
		"(slot memory, data lcores, MTU, its addresses); without POLICY.json, check\n"
		"the policy that configuration names.\n"
		"\n"
		"Every error goes to stderr as FILE:LINE:COL: /json/path: reason.\n"
		"  -c, --config FILE  the gateway configuration\n"
		"  -q, --quiet        print nothing when valid\n"
		"Exit status: 0 valid, 1 invalid, 2 usage error or unreadable file.\n");
}

/* -EINVAL means "read and found wanting"; anything else means we could not
 * judge at all, which scripts must not mistake for a verdict. */
static int
exit_status(int rc)
{
	if (rc == 0)
		return CTL_EXIT_OK;
	return rc == -EINVAL ? CTL_EXIT_INVALID : CTL_EXIT_USAGE;
}

static void
summary(const char *path, const struct cp_policy *p, const struct cp_limits *lim)
{
	uint64_t quota = 0, workers = 0;
	char s1[32], s2[32];

	for (uint32_t i = 0; i < p->n_jobs; i++) {
		quota += p->jobs[i].slot_memory;
		workers += p->jobs[i].n_workers;
	}
	printf("%s: valid: version %llu, %u tenant%s, %u class%s, %u node%s, %u job%s "
	       "(%llu worker%s, slot quotas %s", path, (unsigned long long)p->version,
	       p->n_tenants, p->n_tenants == 1 ? "" : "s",
	       p->n_classes, p->n_classes == 1 ? "" : "es",
	       p->n_nodes, p->n_nodes == 1 ? "" : "s",
	       p->n_jobs, p->n_jobs == 1 ? "" : "s",
	       (unsigned long long)workers, workers == 1 ? "" : "s",
	       cp_json_size_format(quota, s1, sizeof(s1)));
	if (lim->slot_memory != 0)
		printf(" of the gateway's %s", cp_json_size_format(lim->slot_memory, s2, sizeof(s2)));
	printf("), %u model%s\n", p->n_models, p->n_models == 1 ? "" : "s");
}

int
ctl_validate_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cp_gw_config *cfg = NULL;
	struct cp_limits lim = { 0 };
	struct cp_policy *p = NULL;
	struct cp_diags diags = { 0 };
	const char *cfg_path = NULL, *policy_path;
	bool quiet = false;
	int opt, rc, status;

	while ((opt = getopt_long(argc, argv, "c:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			validate_usage(stdout);
			return CTL_EXIT_OK;
		default:
			validate_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (argc - optind > 1 || (argc - optind == 0 && cfg_path == NULL)) {
		validate_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	policy_path = argc - optind == 1 ? argv[optind] : NULL;

	if (cfg_path != NULL) {
		cfg = malloc(sizeof(*cfg));
		if (cfg == NULL) {
			fprintf(stderr, "daitnctl: out of memory\n");
			return CTL_EXIT_USAGE;
		}
		rc = cp_config_load(cfg_path, cfg, &diags);
		cp_diags_print(&diags, stderr);
		cp_diags_clear(&diags);
		if (rc != 0 && rc != -EINVAL) {
			status = CTL_EXIT_USAGE;
			goto free_cfg;
		}
		/* An invalid configuration gives no limits to trust; the policy
		 * is still checked on its own so that one run shows everything. */
		if (rc == 0)
			cp_limits_from_config(cfg, &lim);
		if (policy_path == NULL && cfg->policy_path[0] != '\0')
			policy_path = cfg->policy_path;
		if (policy_path == NULL) {
			status = CTL_EXIT_INVALID;
			goto free_cfg;
		}
		status = exit_status(rc);
	} else {
		status = CTL_EXIT_OK;
	}

	rc = cp_policy_load(policy_path, &lim, &p, &diags);
	cp_diags_print(&diags, stderr);
	if (exit_status(rc) > status)
		status = exit_status(rc);
	if (status == CTL_EXIT_OK && !quiet)
		summary(policy_path, p, &lim);
	cp_policy_free(p);
free_cfg:
	cp_diags_free(&diags);
	free(cfg);
	return status;
}
