/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_sched private definitions: shared by the units of this folder only.
 */
#ifndef DP_SCHED_PRIV_H
#define DP_SCHED_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_sched.h"

#define SCHED_NIL UINT32_MAX
/* Token buckets count in units scaled by 1e9, so a refill is dt_ns * rate. */
#define TB_SCALE 1000000000ll

struct tb {
	int64_t tokens;         /* scaled units; may dip below 0 by one packet */
	int64_t burst;          /* scaled units */
	uint64_t rate;          /* units per second; 0 = uncapped */
	uint64_t dt_cap;        /* ns after which the bucket is surely full */
	uint64_t last;          /* ns of the last refill */
	bool bytes;             /* unit: bytes (else packets) */
};

/* A queued packet; nodes are linked by index into one pool per scheduler. */
struct node {
	void *pkt;
	uint32_t len;
	uint32_t next;
};

struct leaf {
	uint32_t head[DP_SCHED_BANDS];
	uint32_t tail[DP_SCHED_BANDS];
	uint32_t band_mask;     /* bit b: band b is not empty */
	uint32_t n;             /* packets queued, all bands */
	uint32_t limit;
	uint32_t next;          /* class active-list link */
	uint32_t cls;
	uint32_t tenant;        /* SCHED_NIL: none */
	uint32_t quantum;       /* bytes per DRR round */
	bool granted;           /* quantum already added this visit */
	int64_t deficit;
	struct dp_sched_counters c;
};

struct cls {
	uint8_t priority;
	uint32_t level;
	uint32_t quantum;
	bool granted;
	int64_t deficit;
	uint32_t act_head, act_tail, n_active;  /* leaves with packets */
	uint32_t next;          /* level active-list link */
	struct tb cap;
	struct dp_sched_counters c;
};

struct level {
	uint32_t act_head, act_tail, n_active;  /* classes with packets */
};

struct dp_sched {
	uint32_t n_classes, n_leaves, n_tenants, n_levels;
	uint32_t backlog;
	uint32_t free_head;     /* node free list */
	uint64_t bad_input;
	struct level levels[DP_SCHED_CLASSES_MAX];
	struct cls classes[DP_SCHED_CLASSES_MAX];
	struct leaf *leaves;
	struct tb *tenants;
	struct node *nodes;
};

static inline void
ctr_add(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* Append packet node k to band b of leaf l (the caller checked the limit). */
void sched_leaf_push(struct dp_sched *s, struct leaf *l, uint32_t band, uint32_t k);

#endif /* DP_SCHED_PRIV_H */
