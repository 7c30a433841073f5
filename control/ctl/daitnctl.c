/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitnctl: the operator's tool. Subcommands live in ctl_<name>.c; adding
 * one is a line in cmds[] below.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const struct ctl_cmd cmds[] = {
	{ "validate", ctl_validate_main,
	  "[--config GATEWAY.json] [-q] [POLICY.json] | --tree [-q] GATEWAY.json[:POLICY.json]...",
	  "check a policy (with its gateway configuration) or a tree, without a running gateway" },
	{ "status", ctl_status_main, "[-f PREFIX] [--json]",
	  "the policy version the gateway and each of its lcores run; the last reload" },
	{ "reload", ctl_reload_main, "[-f PREFIX] [--json]",
	  "reload the gateway's policy file now and print the outcome" },
	{ "jobs", ctl_jobs_main, "[-f PREFIX] [--json]",
	  "training jobs: slots in use, contributions, completions, drops" },
	{ "nodes", ctl_nodes_main, "[-f PREFIX] [--json]",
	  "nodes: up or down, last seen, packet and byte rates" },
	{ "stats", ctl_stats_main, "[-f PREFIX] [--json]",
	  "counters per lcore, port, fate, drop reason and tenant" },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *out)
{
	fprintf(out, "usage: daitnctl COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_CMDS; i++)
		fprintf(out, "  %s %s\n      %s\n", cmds[i].name, cmds[i].args, cmds[i].help);
	fprintf(out, "\n'daitnctl COMMAND --help' describes a command. Exit status: 0 ok, "
		"1 invalid, 2 usage or unreadable file,\n3 no gateway answers on its telemetry "
		"socket.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CTL_EXIT_OK;
	}
	for (size_t i = 0; i < N_CMDS; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].main(argc - 1, argv + 1);
	fprintf(stderr, "daitnctl: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return CTL_EXIT_USAGE;
}
