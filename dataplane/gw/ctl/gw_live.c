/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node liveness refresh on the control thread: sum the lcores' per-node
 * counters of the running version into its records (dp_live_update), log
 * the nodes that went down or came back, and hand the verdict to the
 * inference path, whose replica choice skips nodes that are down.
 *
 * The inference path's view (dp_route_live) is "up bit set and heard within
 * the timeout"; this writes the up bits of the running version's view, so a
 * node is failed over as soon as either side finds it silent. Both arrays
 * are per version and written by this thread only.
 */
#include <stdio.h>

#include "cp_json.h"
#include "gw_cp.h"
#include "gw_infer_priv.h"

static void
log_changes(const struct gw *gw, const struct dp_live *lv, uint64_t now)
{
	for (uint32_t i = 0; i < lv->n_nodes; i++) {
		const struct dp_live_node *n = &lv->nodes[i];
		char ip[16];

		if (n->since != now)
			continue;
		cp_json_ipv4_format(n->ip, ip, sizeof(ip));
		if (n->state == DP_LIVE_DOWN)
			printf("daitn-gw: node %s (%s) down: silent for %.1f s (timeout %.1f s)\n",
			       n->id, ip, (double)(now - n->last_seen) / (double)gw->cp->hz,
			       (double)lv->timeout / (double)gw->cp->hz);
		else if (n->state == DP_LIVE_UP && n->n_up > 1)
			printf("daitn-gw: node %s (%s) up again\n", n->id, ip);
	}
}

unsigned
gw_cp_live_update(struct gw *gw)
{
	struct gw_tables *t = gw->tables;
	struct dp_live *lv;
	uint64_t now = gw_now(gw);
	unsigned changed;

	if (t == NULL || t->cp == NULL)
		return 0;
	lv = t->cp->live;
	changed = dp_live_update(lv, t->cp->cnt, gw->n_lcores, now);
	gw->cp->live_at = now;
	gw->cp->live_changes += changed;
	if (changed != 0)
		log_changes(gw, lv, now);
	if (t->infer != NULL && t->infer->n_nodes == lv->n_nodes)
		for (uint32_t i = 0; i < lv->n_nodes; i++)
			/* A node never heard from stays to the inference path's
			 * own judgement (its heartbeats may not have come in
			 * through this view yet). */
			dp_route_live_set(&t->infer->live, i, lv->nodes[i].state != DP_LIVE_DOWN);
	return changed;
}
