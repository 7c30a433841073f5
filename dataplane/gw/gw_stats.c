/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gateway's counters and log type: event names, per-shard and total
 * sums of the lcores' counters (read from any thread: each counter is one
 * writer's relaxed atomic), and the counters print at exit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_log.h>

#include "gw_priv.h"

RTE_LOG_REGISTER_DEFAULT(gw_logtype, INFO);

static const char *const gw_event_names[GW_EV_MAX] = {
#define GW_EV_NAME_(name, str) [GW_EV_##name] = str,
	GW_EVENTS(GW_EV_NAME_)
#undef GW_EV_NAME_
};

const char *gw_event_name(enum gw_event e)
{
	return (unsigned)e < GW_EV_MAX ? gw_event_names[e] : "invalid";
}

void gw_stats_read(const struct gw *gw, int shard, struct gw_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		const struct gw_stats *c = &gw->lcores[k]->cnt;

		if (shard >= 0 && (unsigned)shard != k)
			continue;
		for (unsigned i = 0; i < DP_DROP_MAX; i++)
			out->fate[i] += gw_cnt_read(&c->fate[i]);
		for (unsigned i = 0; i < GW_EV_MAX; i++)
			out->ev[i] += gw_cnt_read(&c->ev[i]);
	}
}

static void stats_print_one(const struct gw_stats *s, const char *title, FILE *out)
{
	fprintf(out, "  %s:", title);
	for (unsigned i = 0; i < GW_EV_MAX; i++)
		if (i != GW_EV_POLLS && s->ev[i] != 0)
			fprintf(out, " %s=%" PRIu64, gw_event_name(i), s->ev[i]);
	for (unsigned i = 1; i < DP_DROP_MAX; i++)
		if (s->fate[i] != 0)
			fprintf(out, " %s=%" PRIu64, dp_drop_name(i), s->fate[i]);
	fputc('\n', out);
}

void gw_stats_print(const struct gw *gw, FILE *out)
{
	struct gw_stats s;
	char title[32];

	fprintf(out, "daitn-gw counters (non-zero):\n");
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		gw_stats_read(gw, (int)k, &s);
		snprintf(title, sizeof(title), "shard %u (lcore %u)", k, gw->lcores[k]->lcore_id);
		stats_print_one(&s, title, out);
	}
	gw_stats_read(gw, -1, &s);
	stats_print_one(&s, "total", out);
}
