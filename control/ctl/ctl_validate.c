/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitnctl validate: load a policy, and optionally the gateway configuration
 * whose limits it must fit, exactly as the gateway would, and print every
 * problem as FILE:LINE:COL: /json/path: reason on stderr. With --tree, do so
 * for each gateway of an aggregation tree, then check them together
 * (ctl_tree.h).
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
#include "ctl_tree.h"

static void
validate_usage(FILE *out)
{
	fprintf(out,
		"usage: daitnctl validate [--config GATEWAY.json] [-q] [POLICY.json]\n"
		"       daitnctl validate --tree [-q] GATEWAY.json[:POLICY.json]...\n"
		"\n"
		"Check POLICY.json without a running gateway. With --config, check the\n"
		"gateway configuration too, and the policy against what that gateway has\n"
		"(slot memory, data lcores, MTU, its addresses); without POLICY.json, check\n"
		"the policy that configuration names.\n"
		"\n"
		"With --tree, check each gateway of an aggregation tree as --config does\n"
		"(its policy: the one its configuration names, or the one after the last\n"
		"colon), then the gateways together: parents and child ranks that name\n"
		"each other, no cycle, the same dtype, chunk_size, mode and frac_bits on\n"
		"every level, no more slots on a leaf than on its parent, each worker on\n"
		"one gateway.\n"
		"\n"
		"Every error goes to stderr as FILE:LINE:COL: /json/path: reason.\n"
		"  -c, --config FILE  the gateway configuration\n"
		"      --tree         the arguments are the gateways of a tree\n"
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

/* Load a gateway configuration (cfg_path may be NULL: none) and the policy
 * at *policy_path (NULL: the one the configuration names), printing every
 * error; *lim gets the configuration's limits when it is valid. Returns the
 * exit status so far; *p is the policy, if valid (free it even when the
 * status is not CTL_EXIT_OK: the configuration may be what is invalid). */
static int
gateway_load(const char *cfg_path, const char **policy_path, struct cp_gw_config *cfg,
	     struct cp_limits *lim, struct cp_policy **p, struct cp_diags *diags)
{
	int rc, status = CTL_EXIT_OK;

	*p = NULL;
	if (cfg_path != NULL) {
		rc = cp_config_load(cfg_path, cfg, diags);
		cp_diags_print(diags, stderr);
		cp_diags_clear(diags);
		if (rc != 0 && rc != -EINVAL)
			return CTL_EXIT_USAGE;
		/* An invalid configuration gives no limits to trust; the policy
		 * is still checked on its own so that one run shows everything. */
		if (rc == 0)
			cp_limits_from_config(cfg, lim);
		if (*policy_path == NULL && cfg->policy_path[0] != '\0')
			*policy_path = cfg->policy_path;
		if (*policy_path == NULL)
			return CTL_EXIT_INVALID;
		status = exit_status(rc);
	}
	rc = cp_policy_load(*policy_path, lim, p, diags);
	cp_diags_print(diags, stderr);
	cp_diags_clear(diags);
	if (exit_status(rc) > status)
		status = exit_status(rc);
	return status;
}

/* --tree: args are GATEWAY.json[:POLICY.json]; each gateway is checked as
 * --config would, and the tree once every one of them is valid. */
static int
validate_tree(int n, char **args, bool quiet)
{
	struct ctl_tree_gw *gws = calloc((size_t)n, sizeof(*gws));
	struct cp_gw_config *cfgs = calloc((size_t)n, sizeof(*cfgs));
	struct cp_policy **pols = calloc((size_t)n, sizeof(*pols));
	struct cp_limits lim;
	struct cp_diags diags = { 0 };
	int status = CTL_EXIT_OK, st, rc;

	if (gws == NULL || cfgs == NULL || pols == NULL) {
		fprintf(stderr, "daitnctl: out of memory\n");
		status = CTL_EXIT_USAGE;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		/* The last colon: a policy path may not hold one, a
		 * configuration path may. */
		char *colon = strrchr(args[i], ':');

		if (colon != NULL) {
			*colon = '\0';
			gws[i].policy_path = colon + 1;
		}
		gws[i].name = args[i];
		gws[i].cfg = &cfgs[i];
		memset(&lim, 0, sizeof(lim));
		st = gateway_load(gws[i].name, &gws[i].policy_path, &cfgs[i], &lim, &pols[i],
				  &diags);
		gws[i].p = pols[i];
		if (st > status)
			status = st;
	}
	if (status != CTL_EXIT_OK) {
		fprintf(stderr, "daitnctl: the tree is checked once every gateway's files are "
			"valid\n");
		goto out;
	}
	rc = ctl_tree_check(gws, (unsigned)n, &diags);
	cp_diags_print(&diags, stderr);
	if (rc == -ENOMEM)
		fprintf(stderr, "daitnctl: out of memory\n");
	status = exit_status(rc);
	if (status == CTL_EXIT_OK && !quiet) {
		for (int i = 0; i < n; i++) {
			cp_limits_from_config(&cfgs[i], &lim);
			summary(gws[i].policy_path, pols[i], &lim);
		}
		ctl_tree_print(gws, (unsigned)n, stdout);
	}
out:
	for (int i = 0; pols != NULL && i < n; i++)
		cp_policy_free(pols[i]);
	cp_diags_free(&diags);
	free(pols);
	free(cfgs);
	free(gws);
	return status;
}

int
ctl_validate_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "tree", no_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cp_gw_config *cfg = NULL;
	struct cp_limits lim = { 0 };
	struct cp_policy *p = NULL;
	struct cp_diags diags = { 0 };
	const char *cfg_path = NULL, *policy_path;
	bool quiet = false, tree = false;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "c:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'T':
			tree = true;
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
	if (tree) {
		if (cfg_path != NULL || argc - optind == 0) {
			validate_usage(stderr);
			return CTL_EXIT_USAGE;
		}
		return validate_tree(argc - optind, argv + optind, quiet);
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
	}
	status = gateway_load(cfg_path, &policy_path, cfg, &lim, &p, &diags);
	if (status == CTL_EXIT_OK && !quiet)
		summary(policy_path, p, &lim);
	cp_policy_free(p);
	cp_diags_free(&diags);
	free(cfg);
	return status;
}
