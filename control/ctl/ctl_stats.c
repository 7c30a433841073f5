/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitnctl stats: the gateway's counters for people: per data lcore, per
 * port, packet fates and drops by reason, per tenant (telemetry /daitn/lcores,
 * /daitn/ports, /daitn/stats, /daitn/drops, /daitn/tenants).
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_tel.h"

static const char usage[] =
	"usage: daitnctl stats [OPTIONS]\n"
	"\n"
	"Print the gateway's counters: per data lcore (policy version, packets, drops,\n"
	"slot memory), per port (ethdev), every non-zero packet fate and event, drops\n"
	"by reason, and per tenant (rate limit, packets, bytes, rate-limited drops).\n"
	"\n";

static void
nonzero(const json_t *o, const char *title)
{
	const char *k;
	json_t *v;
	unsigned n = 0;

	printf("%s:", title);
	json_object_foreach((json_t *)o, k, v) {
		if (!json_is_integer(v) || json_integer_value(v) == 0)
			continue;
		printf("%s %s=%lld", n % 4 == 0 ? "\n " : "", k, json_integer_value(v));
		n++;
	}
	printf("%s\n", n == 0 ? " none" : "");
}

int
ctl_stats_main(int argc, char **argv)
{
	struct ctl_tel t;
	json_t *root[4], *lc, *ports, *st, *dr;
	long long next = 0;
	char b[8][16];
	int rc = ctl_tel_start(&t, argc, argv, usage);

	if (rc >= 0)
		return rc;
	lc = ctl_tel_query(&t, "/daitn/lcores", &root[0]);
	ports = lc ? ctl_tel_query(&t, "/daitn/ports", &root[1]) : NULL;
	st = ports ? ctl_tel_query(&t, "/daitn/stats", &root[2]) : NULL;
	dr = st ? ctl_tel_query(&t, "/daitn/drops", &root[3]) : NULL;
	if (dr == NULL) {
		ctl_tel_close(&t);
		return CTL_EXIT_UNREACHABLE;
	}
	if (!t.json) {
		printf("%5s %5s %7s %10s %10s %10s %10s %10s %10s %11s\n", "shard", "lcore",
		       "version", "rx", "tx", "aggregated", "completed", "dropped", "polls",
		       "slot memory");
		for (size_t i = 0; i < ctl_tel_arr_len(lc, "shard"); i++)
			printf("%5lld %5lld %7lld %10s %10s %10s %10s %10s %10s %4lld/%lld MiB\n",
			       ctl_tel_arr_int(lc, "shard", i), ctl_tel_arr_int(lc, "lcore", i),
			       ctl_tel_arr_int(lc, "version", i),
			       ctl_tel_human(ctl_tel_arr_int(lc, "rx", i), b[0], 16),
			       ctl_tel_human(ctl_tel_arr_int(lc, "tx", i), b[1], 16),
			       ctl_tel_human(ctl_tel_arr_int(lc, "aggregated", i), b[2], 16),
			       ctl_tel_human(ctl_tel_arr_int(lc, "completed", i), b[3], 16),
			       ctl_tel_human(ctl_tel_arr_int(lc, "dropped", i), b[4], 16),
			       ctl_tel_human(ctl_tel_arr_int(lc, "polls", i), b[5], 16),
			       ctl_tel_arr_int(lc, "slot_memory_used", i) >> 20,
			       ctl_tel_arr_int(lc, "slot_memory", i) >> 20);
		printf("\n%-8s %10s %10s %10s %10s %8s %8s %8s %9s %12s\n", "port", "ipackets",
		       "opackets", "ibytes", "obytes", "imissed", "ierrors", "oerrors", "rx_nombuf",
		       "kernel_drops");
		for (size_t i = 0; i < ctl_tel_arr_len(ports, "name"); i++)
			printf("%-8s %10s %10s %10s %10s %8lld %8lld %8lld %9lld %12lld\n",
			       ctl_tel_arr_str(ports, "name", i),
			       ctl_tel_human(ctl_tel_arr_int(ports, "ipackets", i), b[0], 16),
			       ctl_tel_human(ctl_tel_arr_int(ports, "opackets", i), b[1], 16),
			       ctl_tel_human(ctl_tel_arr_int(ports, "ibytes", i), b[2], 16),
			       ctl_tel_human(ctl_tel_arr_int(ports, "obytes", i), b[3], 16),
			       ctl_tel_arr_int(ports, "imissed", i), ctl_tel_arr_int(ports, "ierrors", i),
			       ctl_tel_arr_int(ports, "oerrors", i), ctl_tel_arr_int(ports, "rx_nombuf", i),
			       ctl_tel_arr_int(ports, "kernel_drops", i));
		printf("\n");
		nonzero(st, "fates and events (all lcores, non-zero)");
		nonzero(dr, "drops by reason (non-zero)");
		printf("\n%-16s %12s %10s %10s %10s %12s\n", "tenant", "rate (pps)", "burst",
		       "packets", "bytes", "rate_limited");
	}
	for (int i = 0; i < 4; i++)
		json_decref(root[i]);
	do {
		char cmd[64];
		json_t *r, *o;

		snprintf(cmd, sizeof(cmd), "/daitn/tenants,%lld", next);
		o = ctl_tel_query(&t, cmd, &r);
		if (o == NULL) {
			ctl_tel_close(&t);
			return CTL_EXIT_UNREACHABLE;
		}
		for (size_t i = 0; !t.json && i < ctl_tel_arr_len(o, "id"); i++) {
			long long rate = ctl_tel_arr_int(o, "rate_pps", i);

			printf("%-16s %12s %10s %10s %10s %12s\n", ctl_tel_arr_str(o, "id", i),
			       rate ? ctl_tel_human(rate, b[0], 16) : "unlimited",
			       rate ? ctl_tel_human(ctl_tel_arr_int(o, "burst", i), b[1], 16) : "-",
			       ctl_tel_human(ctl_tel_arr_int(o, "packets", i), b[2], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "bytes", i), b[3], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "rate_limited", i), b[4], 16));
		}
		next = json_object_get(o, "next") != NULL ? ctl_tel_int(o, "next") : -1;
		json_decref(r);
	} while (next >= 0);
	ctl_tel_close(&t);
	return CTL_EXIT_OK;
}
