/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitnctl jobs: every training job the gateway runs, with its slot
 * occupancy and packet fates (telemetry /daitn/job_stats, paged).
 */
#include <stdio.h>

#include "ctl.h"
#include "ctl_tel.h"

/* job_stats "kind" bits (docs/telemetry.md). */
#define KIND_FEDAVG 0x1
#define KIND_DETERMINISTIC 0x2
#define KIND_PARTIAL 0x4
#define KIND_CHILD 0x8
#define KIND_PARENT 0x10

/* "sum" or "fedavg", then ",det", ",part", ",child" and ",parent" as
 * they apply. */
static const char *
kind_text(long long kind, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s%s", kind & KIND_FEDAVG ? "fedavg" : "sum",
		 kind & KIND_DETERMINISTIC ? ",det" : "", kind & KIND_PARTIAL ? ",part" : "",
		 kind & KIND_CHILD ? ",child" : "", kind & KIND_PARENT ? ",parent" : "");
	return buf;
}

static const char usage[] =
	"usage: daitnctl jobs [OPTIONS]\n"
	"\n"
	"List the training jobs the gateway runs: tenant, element type, kind (sum or\n"
	"fedavg; det: deterministic, part: partial rounds; child: sends its sums\n"
	"to a parent gateway, parent: some ranks are child gateways), workers,\n"
	"slots and the sets in use, contributions aggregated, chunks completed,\n"
	"results resent, duplicates, stale, rate-limited and other drops.\n"
	"\n";

int
ctl_jobs_main(int argc, char **argv)
{
	struct ctl_tel t;
	long long next = 0;
	unsigned shown = 0;
	int rc = ctl_tel_start(&t, argc, argv, usage);

	if (rc >= 0)
		return rc;
	if (!t.json)
		printf("%5s %-12s %-8s %-15s %7s %6s %6s %6s %10s %10s %8s %8s %8s %8s %8s %8s "
		       "%8s %9s\n", "job", "tenant", "dtype", "kind", "workers", "slots", "active",
		       "done",
		       "aggregated", "completed", "resent", "dup", "stale", "limited", "dropped",
		       "late", "early", "straggler");
	do {
		char cmd[64], b[12][16], who[24], kind[32];
		json_t *root, *o;

		snprintf(cmd, sizeof(cmd), "/daitn/job_stats,%lld", next);
		o = ctl_tel_query(&t, cmd, &root);
		if (o == NULL) {
			ctl_tel_close(&t);
			return CTL_EXIT_UNREACHABLE;
		}
		for (size_t i = 0; !t.json && i < ctl_tel_arr_len(o, "id"); i++, shown++) {
			/* Which rank came last most often: the straggler. */
			if (ctl_tel_arr_int(o, "straggler_last", i) > 0)
				snprintf(who, sizeof(who), "%lld", ctl_tel_arr_int(o, "straggler", i));
			else
				snprintf(who, sizeof(who), "-");
			printf("%5lld %-12s %-8s %-15s %7lld %6lld %6lld %6lld %10s %10s %8s %8s %8s "
			       "%8s %8s %8s %8s %9s\n",
			       ctl_tel_arr_int(o, "id", i), ctl_tel_arr_str(o, "tenant", i),
			       ctl_tel_arr_str(o, "dtype", i),
			       kind_text(ctl_tel_arr_int(o, "kind", i), kind, sizeof(kind)),
			       ctl_tel_arr_int(o, "workers", i),
			       ctl_tel_arr_int(o, "slots", i), ctl_tel_arr_int(o, "sets_active", i),
			       ctl_tel_arr_int(o, "sets_complete", i),
			       ctl_tel_human(ctl_tel_arr_int(o, "aggregated", i), b[0], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "completed", i), b[1], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "result_resent", i), b[2], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "duplicate", i), b[3], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "stale", i), b[4], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "rate_limited", i), b[5], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "dropped", i), b[6], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "late", i), b[7], 16),
			       ctl_tel_human(ctl_tel_arr_int(o, "closed_early", i), b[8], 16), who);
		}
		next = json_object_get(o, "next") != NULL ? ctl_tel_int(o, "next") : -1;
		json_decref(root);
	} while (next >= 0);
	ctl_tel_close(&t);
	if (!t.json)
		printf("%u job%s\n", shown, shown == 1 ? "" : "s");
	return CTL_EXIT_OK;
}
