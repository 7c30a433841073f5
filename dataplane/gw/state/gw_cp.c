/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-lcore and per-version state of the control plane's run-time pieces
 * (gw_cp.h): tenant slots and bucket parameters, node counters and liveness
 * records.
 *
 * A version's node-counter arrays are written by lcores running it. Once the
 * version is retired (gw_tables_free() after the grace period) no lcore
 * writes them any more, and what they hold is added to the successor's
 * liveness records, which were created from this version's records: no
 * count is lost across a reload and none is counted twice (dp_live.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "cp_plan.h"
#include "gw_cp.h"

int
gw_cp_init(struct gw *gw)
{
	gw->cp = calloc(1, sizeof(*gw->cp));
	if (gw->cp == NULL)
		goto nomem;
	gw->cp->hz = rte_get_tsc_hz();
	gw->cp->epoch_next = 1;
	if (dp_admit_rate_init(&gw->cp->reply_rate, GW_CP_REPLY_PPS, GW_CP_REPLY_BURST, 1,
			       gw->cp->hz, 1) != 0 ||
	    dp_admit_rate_init(&gw->cp->reply_src_rate, GW_CP_REPLY_SRC_PPS,
			       GW_CP_REPLY_SRC_BURST, 1, gw->cp->hz, 1) != 0)
		goto nomem;
	gw->cp->jcache = cp_json_cache_create();
	if (gw->cp->jcache == NULL)
		goto nomem;
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		struct gw_lcore *lc = gw->lcores[k];

		lc->cp = rte_zmalloc_socket("gw_cp_lc", sizeof(*lc->cp), RTE_CACHE_LINE_SIZE,
					    (int)rte_lcore_to_socket_id(lc->lcore_id));
		if (lc->cp == NULL)
			goto nomem;
	}
	return 0;

nomem:
	fprintf(stderr, "daitn-gw: out of memory for the per-lcore rate limits and counters\n");
	return -ENOMEM;
}

void
gw_cp_fini(struct gw *gw)
{
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		rte_free(gw->lcores[k]->cp);
		gw->lcores[k]->cp = NULL;
	}
	if (gw->cp != NULL)
		cp_json_cache_free(gw->cp->jcache);
	free(gw->cp);
	gw->cp = NULL;
}

void
gw_cp_tenant_read(const struct gw *gw, uint32_t slot, struct gw_cp_tcnt *out)
{
	const struct gw_cp_tcnt *b = &gw->cp->slots[slot].base;

	memset(out, 0, sizeof(*out));
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		const struct gw_cp_tcnt *c = &gw->lcores[k]->cp->tcnt[slot];

		out->pkts += gw_cnt_read(&c->pkts);
		out->bytes += gw_cnt_read(&c->bytes);
		out->limited += gw_cnt_read(&c->limited);
	}
	out->pkts -= b->pkts;
	out->bytes -= b->bytes;
	out->limited -= b->limited;
}

/*
 * Give every tenant of the policy a slot: the one its id had (the running
 * version's, or an older one's if unused since), else a slot that neither
 * the running version nor this one uses. Only a slot that changes hands is
 * written, and no running lcore can be using it, so a failed build leaves
 * nothing that matters behind.
 */
static int
slots_assign(struct gw *gw, struct gw_cp_tables *ct, const struct cp_policy *p,
	     const struct gw_tables *old, char *err, size_t err_size)
{
	struct gw_cp *cp = gw->cp;
	bool busy[GW_CP_SLOTS] = { false };
	uint32_t next_free = 0;

	if (old != NULL && old->cp != NULL)
		for (uint32_t i = 0; i < old->cp->n_tenants; i++)
			busy[old->cp->tenants[i].slot] = true;
	/* First pass: tenants that keep their slot. */
	for (uint32_t i = 0; i < p->n_tenants; i++) {
		ct->tenants[i].slot = UINT32_MAX;
		for (uint32_t s = 0; s < GW_CP_SLOTS; s++)
			if (cp->slots[s].epoch != 0 && strcmp(cp->slots[s].id, p->tenants[i].id) == 0) {
				ct->tenants[i].slot = s;
				busy[s] = true;
				break;
			}
	}
	for (uint32_t i = 0; i < p->n_tenants; i++) {
		struct gw_cp_slot *sl;
		uint32_t s;

		if (ct->tenants[i].slot != UINT32_MAX)
			continue;
		/* Prefer slots never used, then any idle one. */
		for (s = next_free; s < GW_CP_SLOTS && (busy[s] || cp->slots[s].epoch != 0); s++)
			;
		if (s == GW_CP_SLOTS)
			for (s = 0; s < GW_CP_SLOTS && busy[s]; s++)
				;
		if (s == GW_CP_SLOTS) {
			snprintf(err, err_size, "no free tenant slot for tenant \"%s\" (%u slots)",
				 p->tenants[i].id, GW_CP_SLOTS);
			return -ENOSPC;
		}
		next_free = s + 1;
		busy[s] = true;
		sl = &cp->slots[s];
		snprintf(sl->id, sizeof(sl->id), "%s", p->tenants[i].id);
		sl->epoch = cp->epoch_next++;
		if (cp->epoch_next == 0)
			cp->epoch_next = 1;
		/* Counters restart from here for the new owner. */
		memset(&sl->base, 0, sizeof(sl->base));
		gw_cp_tenant_read(gw, s, &sl->base);
		ct->tenants[i].slot = s;
	}
	return 0;
}

int
gw_cp_tables_build(struct gw *gw, struct gw_tables *t, const struct gw_tables *old,
		   char *err, size_t err_size)
{
	const struct cp_policy *p = t->policy;
	struct gw_cp_tables *ct;
	int rc;

	ct = calloc(1, sizeof(*ct));
	if (ct == NULL)
		goto nomem;
	t->cp = ct;             /* freed by gw_tables_free() on any failure */
	ct->n_tenants = p->n_tenants;
	ct->tenants = calloc(p->n_tenants + 1, sizeof(*ct->tenants));
	if (ct->tenants == NULL)
		goto nomem;
	rc = slots_assign(gw, ct, p, old, err, err_size);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < p->n_tenants; i++) {
		const struct cp_tenant *tn = &p->tenants[i];

		rc = dp_admit_rate_init(&ct->tenants[i].rate, tn->rate_pps, tn->burst, gw->n_lcores,
					gw->cp->hz, gw->cp->slots[ct->tenants[i].slot].epoch);
		if (rc < 0) {
			snprintf(err, err_size, "tenant \"%s\": cannot set its rate limit", tn->id);
			return rc;
		}
	}
	ct->n_nodes = p->n_nodes;
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		ct->cnt[k] = calloc(p->n_nodes + 1, sizeof(struct dp_live_cnt));
		if (ct->cnt[k] == NULL)
			goto nomem;
	}
	ct->live = cp_plan_live_create(p, gw->cp->hz,
				       old != NULL && old->cp != NULL ? old->cp->live : NULL);
	if (ct->live == NULL)
		goto nomem;
	return 0;

nomem:
	snprintf(err, err_size, "out of memory building the rate limits and node counters");
	return -ENOMEM;
}

void
gw_cp_tables_free(struct gw *gw, struct gw_tables *t)
{
	struct gw_cp_tables *ct = t->cp;
	const struct gw_tables *cur = gw->tables;

	if (ct == NULL)
		return;
	/* Retired after its successor was published: hand its counts over. */
	if (cur != NULL && cur != t && cur->cp != NULL && ct->live != NULL &&
	    cur->cp->live->from == ct->live)
		dp_live_harvest(cur->cp->live, ct->live, ct->cnt, gw->n_lcores);
	dp_live_free(ct->live);
	for (unsigned k = 0; k < CP_LCORES_MAX; k++)
		free(ct->cnt[k]);
	free(ct->tenants);
	free(ct);
	t->cp = NULL;
}
