/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_cp: the control plane's run-time pieces inside the gateway, hooked into
 * the gw core at a few points (private to dataplane/gw):
 *
 * - per data lcore (struct gw_cp_lc): the note of the table generation it
 *   runs (daitnctl status, reload latency), its clock for this poll, one token
 *   bucket and one set of counters per tenant slot;
 * - per table version (struct gw_cp_tables, t->cp, published with the job
 *   tables): each tenant's slot and bucket parameters, one node-counter array
 *   per lcore, and the node liveness records with the up bitmap;
 * - gateway-wide (struct gw_cp, gw->cp): the tenant slot registry and the
 *   clock rate.
 *
 * Tenant slots. Buckets and tenant counters live in the lcores, outside the
 * versions, so that a reload neither refills every bucket nor resets the
 * counters. A tenant keeps its slot (0 .. CP_TENANTS_MAX-1) across versions
 * by id; a slot given to another tenant gets a new epoch (its buckets start
 * full) and its counters a new base.
 *
 * Threads: gw_cp_init/fini, gw_cp_tables_build/free and gw_cp_live_update on
 * the control thread under the gateway's control lock; gw_cp_lcore_sync,
 * gw_cp_admit and gw_cp_admit_grad on the owning data lcore; the readers
 * (gw_cp_tenant_read, gw_cp_lcore_note_read) on control threads under the
 * control lock.
 *
 * The data path's rate limits and liveness counting are per packet and
 * lcore-local: no locks, no atomic read-modify-writes, no shared writes.
 */
#ifndef GW_CP_H
#define GW_CP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_cycles.h>

#include "cp_json.h"
#include "dp_admit.h"
#include "dp_live.h"
#include "dp_live_lcore.h"
#include "gw_priv.h"

#define GW_CP_SLOTS CP_TENANTS_MAX

/* Answers to requests nobody authenticated (HELLO, the ERROR that ends a
 * run's GRADs, ICMP echo): at most GW_CP_REPLY_PPS per lcore (burst
 * GW_CP_REPLY_BURST), and GW_CP_REPLY_SRC_PPS per source ip:port (burst
 * GW_CP_REPLY_SRC_BURST; sources hashed into GW_CP_REPLY_SRC buckets, so
 * sharing one only limits harder). A joining rank asks 20 times a second. */
#define GW_CP_REPLY_PPS 20000u
#define GW_CP_REPLY_BURST 512u
#define GW_CP_REPLY_SRC_PPS 100u
#define GW_CP_REPLY_SRC_BURST 32u
#define GW_CP_REPLY_SRC 1024u

/* What one lcore counted for one tenant slot. */
struct gw_cp_tcnt {
	uint64_t pkts;          /* admitted (conforming) packets */
	uint64_t bytes;         /* their frame bytes */
	uint64_t limited;       /* dropped as rate_limited */
	uint64_t reserved;
};

struct gw_cp_lc {
	struct dp_live_lcore note;          /* any: generation this lcore runs */
	uint64_t now;                       /* TSC at the start of this poll */
	const struct gw_cp_tables *cur;     /* t->cp of this poll's tables */
	struct dp_live_cnt *live;           /* cur->cnt[this lcore's shard] */
	struct dp_admit_tb reply_tb;        /* every answer of this lcore */
	struct dp_admit_tb reply_src[GW_CP_REPLY_SRC];  /* per hashed source */
	struct dp_admit_tb tb[GW_CP_SLOTS] __rte_cache_aligned;
	struct gw_cp_tcnt tcnt[GW_CP_SLOTS] __rte_cache_aligned;  /* any: read */
};

struct gw_cp_tenant {
	uint32_t slot;
	struct dp_admit_rate rate;          /* this lcore's share (all lcores alike) */
};

struct gw_cp_tables {
	uint32_t n_tenants;
	struct gw_cp_tenant *tenants;       /* by the policy's tenant index */
	uint32_t n_nodes;
	struct dp_live_cnt *cnt[CP_LCORES_MAX];  /* lcore k writes cnt[k] only */
	struct dp_live *live;               /* control thread; up bitmap for lcores */
};

struct gw_cp_slot {
	char id[CP_ID_MAX];                 /* the tenant that had it last */
	uint32_t epoch;
	struct gw_cp_tcnt base;             /* lcore sums when it got that tenant */
};

struct gw_ctl;

struct gw_cp {
	uint64_t hz;                        /* TSC ticks per second */
	struct dp_admit_rate reply_rate;    /* GW_CP_REPLY_PPS, per lcore */
	struct dp_admit_rate reply_src_rate; /* GW_CP_REPLY_SRC_PPS, per source */
	uint32_t epoch_next;
	struct gw_cp_slot slots[GW_CP_SLOTS];
	struct gw_ctl *ctl;                 /* daitn-gw's control loop, if any */
	struct cp_json_cache *jcache;       /* policy parse cache (cp_json.h) */
	uint64_t live_at;                   /* TSC of the last liveness refresh */
	uint32_t live_changes;              /* nodes that changed state, total */
};

/* gw_create(): per-lcore state. 0 or -ENOMEM. */
int gw_cp_init(struct gw *gw);
/* gw_destroy(): after the tables are freed. */
void gw_cp_fini(struct gw *gw);

/* gw_policy_apply(), before the job tables: t->cp for t->policy (old: the
 * running tables or NULL). 0 or -ENOMEM/-ENOSPC with a sentence in err; on
 * failure gw_tables_free() frees what was built. */
int gw_cp_tables_build(struct gw *gw, struct gw_tables *t, const struct gw_tables *old,
		       char *err, size_t err_size);

/* gw_tables_free(): when t was the running version and its successor is
 * published, move what its lcores counted into the successor's records. */
void gw_cp_tables_free(struct gw *gw, struct gw_tables *t);

/* Refresh node liveness from the lcores' counters (every few tens of ms;
 * gw_live.c). Returns the nodes that changed state. Control lock held. */
unsigned gw_cp_live_update(struct gw *gw);

/* A tenant's counters (slot of policy tenant i of the running tables),
 * summed over lcores since the tenant got its slot. Control lock held. */
void gw_cp_tenant_read(const struct gw *gw, uint32_t slot, struct gw_cp_tcnt *out);

/* Start of each poll: the clock, and the note of the generation t is. */
static inline void
gw_cp_lcore_sync(struct gw_lcore *lc, const struct gw_tables *t)
{
	struct gw_cp_lc *c = lc->cp;

	c->now = gw_now(lc->gw);
	c->cur = t != NULL ? t->cp : NULL;
	c->live = t != NULL ? t->cp->cnt[lc->shard] : NULL;
	if (likely(t != NULL))
		dp_live_lcore_note(&c->note, t->gen, t->version, c->now);
}

/*
 * A packet of `bytes` from policy node `node` (UINT32_MAX: none) for policy
 * tenant `tenant`, admitted by address: count it for the node's liveness and
 * charge the tenant's bucket. Returns false if the packet must be dropped as
 * rate_limited (counted for the tenant). ct = t->cp of this poll's tables.
 */
static inline bool
gw_cp_admit(struct gw_lcore *lc, const struct gw_cp_tables *ct, uint32_t tenant,
	    uint32_t node, uint32_t bytes)
{
	struct gw_cp_lc *c = lc->cp;
	const struct gw_cp_tenant *tn;
	struct gw_cp_tcnt *tc;

	if (likely(node < ct->n_nodes))
		dp_live_cnt_hit(&c->live[node], bytes, c->now);
	if (unlikely(tenant >= ct->n_tenants))
		return true;
	tn = &ct->tenants[tenant];
	tc = &c->tcnt[tn->slot];
	if (unlikely(!dp_admit_take(&c->tb[tn->slot], &tn->rate, c->now))) {
		gw_cnt_add(&tc->limited, 1);
		return false;
	}
	gw_cnt_add(&tc->pkts, 1);
	gw_cnt_add(&tc->bytes, bytes);
	return true;
}

/* May this lcore answer a request from ip_be:port_be that nobody
 * authenticated? False (counted as replies_limited) when the lcore's or
 * the source's reply bucket is empty: the request is then dropped unanswered. */
static inline bool
gw_cp_reply_ok(struct gw_lcore *lc, uint32_t ip_be, uint16_t port_be)
{
	const struct gw_cp *cp = lc->gw->cp;
	struct gw_cp_lc *c = lc->cp;
	uint32_t h = (ip_be ^ (uint32_t)port_be << 16 ^ port_be) * 0x9e3779b1u;

	if (likely(dp_admit_take(&c->reply_src[h >> 22], &cp->reply_src_rate, c->now) &&
		   dp_admit_take(&c->reply_tb, &cp->reply_rate, c->now)))
		return true;
	gw_cnt_add(&lc->cnt.ev[GW_EV_REPLIES_LIMITED], 1);
	return false;
}

/* Liveness only: a packet of `bytes` from policy node `node` of this
 * poll's tables (the inference path's heartbeats and activations). */
static inline void
gw_cp_node_seen(struct gw_lcore *lc, uint32_t node, uint32_t bytes)
{
	const struct gw_cp_tables *ct = lc->cp->cur;

	if (likely(ct != NULL && node < ct->n_nodes))
		dp_live_cnt_hit(&lc->cp->live[node], bytes, lc->cp->now);
}

/* The same for a GRAD of `job` (an entry of t->jobs, built from the policy's
 * job of the same index) from `rank`, whose address was checked. */
static inline bool
gw_cp_admit_grad(struct gw_lcore *lc, const struct gw_tables *t, const struct gw_job *job,
		 uint16_t rank, uint32_t bytes)
{
	const struct cp_job *cj = &t->policy->jobs[job - t->jobs];

	return gw_cp_admit(lc, t->cp, cj->tenant, cj->workers[rank].node, bytes);
}

#endif /* GW_CP_H */
