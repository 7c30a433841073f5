/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_infer internals, shared by gw_infer*.c and gw_txsched.c only.
 */
#ifndef GW_INFER_PRIV_H
#define GW_INFER_PRIV_H

#include <stdatomic.h>

#include "dp_proto_infer.h"
#include "dp_route.h"
#include "dp_sched.h"
#include "dp_sched_plan.h"
#include "gw_priv.h"

#define GW_INFER_PENDING GW_BURST_MAX   /* a whole refused burst fits */
#define GW_INFER_ACK_WAIT_NS 2000000000ull
#define GW_INFER_NIL UINT32_MAX
#define GW_INFER_IDS 65536u             /* job and model ids are 16 bits */
/* Leaves of any plan: one default per class, one per job, one per model. */
#define GW_INFER_LEAVES_MAX (DP_SCHED_CLASSES_MAX + 2u * GW_INFER_IDS)

/* A model's key (docs/protocol.md section 11): every message tagged. */
struct gw_infer_key {
	bool keyed;
	struct dp_auth_key key;         /* covers payloads always */
};

/* A keyed model's BEAT must carry a time (ms since the epoch, low 32 bits,
 * in its session field) within this of the gateway's, and newer than the
 * node's last: a recorded BEAT cannot keep a dead replica alive. */
#define GW_INFER_BEAT_SKEW_MS 5000

struct gw_infer_node_ip {
	uint32_t ip;            /* host order */
	uint32_t node;
};

struct gw_infer_tables {
	uint64_t gen;                   /* = the gw_tables generation */
	bool fifo;
	struct dp_route_table *route;
	struct dp_sched_plan *plan;
	struct dp_sched *sched[CP_LCORES_MAX][CP_PORTS_MAX];
	uint32_t n_sched_leaves;        /* leaves of these schedulers */
	uint32_t *job_leaf;             /* [65536] by job id, GW_INFER_NIL none */
	uint32_t *model_leaf;           /* [65536] by model id */
	uint32_t control_leaf, training_leaf, inference_leaf;
	uint32_t n_nodes;
	uint64_t *last_seen;            /* [n_nodes] ns; relaxed atomics, any lcore */
	uint32_t *neigh;                /* [n_nodes] index into gw->neigh */
	uint32_t *last_beat;            /* [n_nodes] keyed models: the newest BEAT's
					   time (ms, low 32 bits); relaxed atomics */
	struct gw_infer_key *mkeys;     /* [policy models] by dp_route_model.policy_idx */
	struct gw_infer_node_ip *by_ip; /* [n_nodes] sorted by ip */
	uint64_t *up;                   /* admin bitmap: all set */
	struct dp_route_live live;
};

/* Time inference frames spend in the gateway (from the poll that received
 * them to the PMD taking them), log-linear: 4 buckets per power of two of
 * nanoseconds (25% resolution), up to 2^33 ns. */
#define GW_SOJOURN_BUCKETS 128u

static inline unsigned
gw_sojourn_bucket(uint64_t ns)
{
	unsigned e, b;

	if (ns < 4)
		return (unsigned)ns;
	e = 63u - (unsigned)__builtin_clzll(ns);
	b = (e - 1) * 4 + (unsigned)((ns >> (e - 2)) & 3);
	return b < GW_SOJOURN_BUCKETS ? b : GW_SOJOURN_BUCKETS - 1;
}

/* Upper bound (ns) of bucket b. */
static inline uint64_t
gw_sojourn_bucket_max(unsigned b)
{
	if (b < 4)
		return b + 1;
	return (uint64_t)(5 + b % 4) << (b / 4 - 1);
}

struct gw_infer_lc {
	struct dp_route_lcore *route;
	const struct gw_infer_tables *cur;      /* whose schedulers are ours */
	struct dp_sched *sched[CP_PORTS_MAX];
	_Atomic uint64_t acked_gen;             /* cur->gen; 0 = none yet */
	uint64_t now_ns;
	uint32_t *map;                          /* [GW_INFER_LEAVES_MAX] scratch */
	uint16_t n_pending[CP_PORTS_MAX];
	struct rte_mbuf *pending[CP_PORTS_MAX][GW_INFER_PENDING];
	uint16_t n_stage[CP_PORTS_MAX];         /* handed to TX this poll, */
	struct rte_mbuf *stage[CP_PORTS_MAX][GW_TXBUF_SIZE];    /* not yet queued */
	uint64_t cnt[GW_INFER_CNT_MAX];
	uint64_t sojourn[GW_SOJOURN_BUCKETS];   /* relaxed atomics */
	void *move_drops[64];
};

struct gw_infer {
	bool fifo;
	bool off;                       /* no TX scheduling: straight to the PMD */
	uint64_t rate_bps;              /* per (lcore, port) scheduler; 0 none */
	double ns_per_tsc;
	int stamp_off;                  /* mbuf dynfield: receive time, ns */
	unsigned n_retired;
	struct gw_infer_tables **retired;       /* waiting for lcores to leave */
};

static inline uint64_t
gw_infer_now(const struct gw *gw)
{
	return (uint64_t)((double)gw_now(gw) * gw->infer->ns_per_tsc);
}

/* gw_txsched.c: move the lcore onto version it (its backlog with it). */
void gw_sched_adopt(struct gw_lcore *lc, const struct gw_infer_tables *it);

/* gw_txsched.c: free every packet the lcore's schedulers and pending
 * arrays hold (shutdown, lcores stopped). */
void gw_sched_drain(struct gw_lcore *lc);

#endif /* GW_INFER_PRIV_H */
