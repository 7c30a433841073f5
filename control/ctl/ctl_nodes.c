/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitnctl nodes: every node of the policy with its liveness, when it was
 * last heard from and its packet and byte rates (telemetry /daitn/nodes,
 * paged).
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_tel.h"

static const char usage[] =
	"usage: daitnctl nodes [OPTIONS]\n"
	"\n"
	"List the policy's nodes: address, roles, state (up, down: silent longer\n"
	"than the policy's node_timeout_ms, never: not heard from yet), when last\n"
	"heard from, packets and bytes, and their rates.\n"
	"Exit status: 0 every node seen is up, 1 some node is down, 2 usage, 3 no\n"
	"gateway answers.\n"
	"\n";

int
ctl_nodes_main(int argc, char **argv)
{
	struct ctl_tel t;
	long long next = 0, down = 0;
	int rc = ctl_tel_start(&t, argc, argv, usage);

	if (rc >= 0)
		return rc;
	do {
		char cmd[64], b[4][16];
		json_t *root, *o;

		snprintf(cmd, sizeof(cmd), "/daitn/nodes,%lld", next);
		o = ctl_tel_query(&t, cmd, &root);
		if (o == NULL) {
			ctl_tel_close(&t);
			return CTL_EXIT_UNREACHABLE;
		}
		if (next == 0) {
			down = ctl_tel_int(o, "down");
			if (!t.json)
				printf("%lld nodes: %lld up, %lld down, %lld never seen (timeout %lld ms, "
				       "refreshed %lld ms ago)\n\n%-16s %-15s %-22s %-5s %-17s %-10s %10s "
				       "%10s %10s %10s %10s %5s %6s\n", ctl_tel_int(o, "total"),
				       ctl_tel_int(o, "up"), down, ctl_tel_int(o, "never_seen"),
				       ctl_tel_int(o, "timeout_ms"), ctl_tel_int(o, "refreshed_ms_ago"),
				       "node", "ip", "roles", "state", "mac", "bound by", "last seen",
				       "packets", "bytes", "pps", "bit/s", "downs", "claims");
		}
		for (size_t i = 0; !t.json && i < ctl_tel_arr_len(o, "id"); i++) {
			char seen[32];
			long long ms = ctl_tel_arr_int(o, "last_seen_ms_ago", i);

			if (strcmp(ctl_tel_arr_str(o, "state", i), "never") == 0)
				snprintf(seen, sizeof(seen), "-");
			else
				snprintf(seen, sizeof(seen), "%lld.%01lld s", ms / 1000, ms % 1000 / 100);
			printf("%-16s %-15s %-22s %-5s %-17s %-10s %10s %10s %10s %10s %10s %5lld "
			       "%6lld\n",
			       ctl_tel_arr_str(o, "id", i), ctl_tel_arr_str(o, "ip", i),
			       ctl_tel_arr_str(o, "roles", i), ctl_tel_arr_str(o, "state", i),
			       *ctl_tel_arr_str(o, "mac", i) ? ctl_tel_arr_str(o, "mac", i) : "-",
			       ctl_tel_arr_str(o, "mac_bound_by", i), seen,
			       ctl_tel_human(ctl_tel_arr_int(o, "packets", i), b[0], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "bytes", i), b[1], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "pps", i), b[2], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "bps", i), b[3], 16),
			       ctl_tel_arr_int(o, "times_down", i),
			       ctl_tel_arr_int(o, "arp_conflicts", i));
		}
		next = json_object_get(o, "next") != NULL ? ctl_tel_int(o, "next") : -1;
		json_decref(root);
	} while (next >= 0);
	ctl_tel_close(&t);
	return down != 0 ? CTL_EXIT_INVALID : CTL_EXIT_OK;
}
