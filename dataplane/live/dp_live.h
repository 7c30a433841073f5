/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_live: node liveness (docs/telemetry.md, "Nodes").
 *
 * The gateway tracks every node of the policy (training workers, stage
 * nodes, requesters): when it was last heard from, how many packets and bytes
 * it sent and at what rate, and whether it is up. A node that stays silent
 * longer than the policy's node_timeout_ms is down; one that is heard again
 * is up. A node never heard from is "never seen" and counts as down.
 *
 * Two sides, no cross-core writes on the data path:
 *
 * - struct dp_live_cnt, one array per data lcore per policy version, indexed
 *   by the policy's node index: written only by its lcore (relaxed atomic
 *   stores, dp_live_cnt_hit()), read by the control thread.
 *
 * - struct dp_live, one per policy version, owned by the control thread:
 *   each node's record (totals, last seen, rates, state), refreshed by
 *   dp_live_update() from the lcores' arrays, and the up bitmap that data
 *   lcores read without locks (bit node % 64 of up[node / 64], the layout of
 *   dp_route_live.up; relaxed atomic loads; written only by the control
 *   thread with whole-word relaxed stores).
 *
 * Across a policy reload, records carry over by node id (dp_live_create()
 * with the previous version), and what the lcores counted into the previous
 * version's arrays is added once the grace period is over (dp_live_harvest()).
 *
 * Time is in ticks of one clock shared by lcores and the control thread
 * (the gateway: the TSC), hz ticks per second; 0 means "never".
 */
#ifndef DP_LIVE_H
#define DP_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#define DP_LIVE_ID_MAX 48     /* bytes of a node id, NUL included */

/* What a liveness view is built from (control/plan makes it from a policy:
 * cp_plan_live). Node i of the spec is node i of the view. */
struct dp_live_node_spec {
	const char *id;         /* unique; cut to DP_LIVE_ID_MAX - 1 bytes */
	uint32_t ip;            /* host order */
	uint32_t roles;         /* role bits, reported as they are */
};

struct dp_live_spec {
	uint32_t n_nodes;
	const struct dp_live_node_spec *nodes;
	uint32_t timeout_ms;    /* silent longer than this: down */
};

/* What one lcore counted for one node. 32 bytes, two per cache line. */
struct dp_live_cnt {
	uint64_t pkts;
	uint64_t bytes;
	uint64_t last;          /* ticks of the latest packet; 0 none */
	uint64_t reserved;
};

/* Count one packet of `bytes` at time now. The owning lcore only. */
static inline void
dp_live_cnt_hit(struct dp_live_cnt *c, uint32_t bytes, uint64_t now)
{
	__atomic_store_n(&c->pkts, __atomic_load_n(&c->pkts, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&c->bytes, __atomic_load_n(&c->bytes, __ATOMIC_RELAXED) + bytes,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&c->last, now, __ATOMIC_RELAXED);
}

enum dp_live_state {
	DP_LIVE_NEVER = 0,      /* not heard from since it entered the policy */
	DP_LIVE_UP,
	DP_LIVE_DOWN,           /* silent longer than the timeout */
};

struct dp_live_node {
	char id[DP_LIVE_ID_MAX];
	uint32_t ip;            /* host order */
	uint32_t roles;         /* role bits from the spec */
	enum dp_live_state state;
	uint64_t pkts;          /* totals since the gateway first had the node */
	uint64_t bytes;
	uint64_t last_seen;     /* ticks; 0 never */
	uint64_t since;         /* ticks of the last state change (0: from start) */
	uint64_t pps;           /* over the last update interval */
	uint64_t bps;           /* bits per second, idem */
	uint32_t n_down;        /* transitions to down */
	uint32_t n_up;          /* transitions to up (the first sighting included) */
	/* private: totals before this version's lcore arrays, rate base */
	uint64_t base_pkts, base_bytes, base_last;
	uint64_t prev_pkts, prev_bytes, prev_at;
};

struct dp_live {
	uint32_t n_nodes;
	struct dp_live_node *nodes;     /* by the policy's node index */
	uint64_t *up;                   /* bitmap, (n_nodes + 63) / 64 words, at least 1 */
	uint64_t timeout;               /* ticks */
	uint64_t hz;
	uint32_t n_up, n_down, n_never; /* after the last update */
	uint32_t *by_id;                /* node indices sorted by id */
	const struct dp_live *from;     /* the version it carried records from */
	uint32_t n_from;
	uint32_t *from_map;             /* from's node index -> ours, or UINT32_MAX */
};

/*
 * A liveness view of spec's nodes, on a clock of hz ticks per second. With
 * prev (the running version, or NULL), records of nodes with the same id are
 * carried over, with their totals, last sighting and state. The up bitmap
 * starts from the carried states (new nodes: down). The spec is not kept.
 * Control thread. Returns NULL with errno EINVAL (no spec, hz 0) or ENOMEM.
 */
struct dp_live *dp_live_create(const struct dp_live_spec *spec, uint64_t hz,
			       const struct dp_live *prev);

void dp_live_free(struct dp_live *lv);

/*
 * Refresh every record at time now from the lcores' arrays of this version
 * (cnt[k] holds lv->n_nodes entries; NULL arrays are skipped): totals, last
 * seen, rates since the previous update, state, and the up bitmap. Returns
 * how many nodes changed state. Control thread.
 */
unsigned dp_live_update(struct dp_live *lv, struct dp_live_cnt *const *cnt, unsigned n_lcores,
			uint64_t now);

/*
 * The previous version old is retired (no lcore writes its arrays any more):
 * add what its lcores counted into lv's records, when lv was created from it
 * (lv->from == old). Returns 0, or -EINVAL if lv was not. Control thread.
 */
int dp_live_harvest(struct dp_live *lv, const struct dp_live *old,
		    struct dp_live_cnt *const *cnt, unsigned n_lcores);

/* Node index of id, or -1. Control thread. */
int dp_live_find(const struct dp_live *lv, const char *id);

/* Whether node is up in the bitmap (out of range: false). Any thread. */
static inline bool
dp_live_is_up(const uint64_t *up, uint32_t n_nodes, uint32_t node)
{
	return node < n_nodes &&
	       (__atomic_load_n(&up[node / 64], __ATOMIC_RELAXED) >> (node % 64) & 1);
}

/* "never", "up", "down". */
const char *dp_live_state_name(enum dp_live_state s);

#endif /* DP_LIVE_H */
