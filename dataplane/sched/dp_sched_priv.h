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

/* A member of a DRR round (a class in its level, a group in its class, a
 * leaf in its group). */
struct drr {
	uint32_t next;          /* round link */
	uint32_t quantum;       /* bytes per visit */
	bool granted;           /* quantum already added this visit */
	int64_t deficit;
};

/* A DRR round: the members with packets, as a FIFO linked through drr.next. */
struct round {
	uint32_t head, tail, n;
};

struct leaf {
	uint32_t head[DP_SCHED_BANDS];
	uint32_t tail[DP_SCHED_BANDS];
	uint32_t band_mask;     /* bit b: band b is not empty */
	uint32_t n;             /* packets queued, all bands */
	uint32_t limit;
	uint32_t cls;
	uint32_t group;
	uint32_t weight;
	struct drr d;
	struct dp_sched_counters c;
};

/* The leaves of one class that share a tenant (or have none): one token
 * bucket gates them all, so they sit behind it as one member of the class's
 * round and take turns among themselves only when the bucket allows. */
struct group {
	uint32_t cls;
	uint32_t tenant;        /* SCHED_NIL: none */
	uint64_t active_weight; /* sum of the weights of its backlogged leaves */
	struct round r;         /* leaves */
	struct drr d;
};

struct cls {
	uint8_t priority;
	uint32_t level;
	struct round r;         /* groups */
	struct drr d;
	struct tb cap;
	struct dp_sched_counters c;
};

struct level {
	struct round r;         /* classes */
};

struct dp_sched {
	uint32_t n_classes, n_leaves, n_groups, n_tenants, n_levels;
	uint32_t quantum;       /* bytes per weight unit */
	uint32_t backlog;
	uint32_t free_head;     /* node free list */
	uint64_t bad_input;
	bool capped;            /* any bucket with a rate */
	struct tb port;         /* port cap */
	struct level levels[DP_SCHED_CLASSES_MAX];
	struct cls classes[DP_SCHED_CLASSES_MAX];
	struct leaf *leaves;
	struct group *groups;
	struct tb *tenants;
	struct node *nodes;
};

/* Round operations over an array of members that embed struct drr as d. */
#define ROUND_INIT(r) ((r)->head = (r)->tail = SCHED_NIL, (r)->n = 0)

#define ROUND_PUSH(r, arr, i)                                     \
	do {                                                      \
		(arr)[i].d.next = SCHED_NIL;                      \
		if ((r)->tail == SCHED_NIL)                       \
			(r)->head = (i);                          \
		else                                              \
			(arr)[(r)->tail].d.next = (i);            \
		(r)->tail = (i);                                  \
		(r)->n++;                                         \
	} while (0)

/* Move the head to the tail. */
#define ROUND_ROTATE(r, arr)                                      \
	do {                                                      \
		uint32_t i_ = (r)->head;                          \
		if ((r)->n >= 2) {                                \
			(r)->head = (arr)[i_].d.next;             \
			(arr)[i_].d.next = SCHED_NIL;             \
			(arr)[(r)->tail].d.next = i_;             \
			(r)->tail = i_;                           \
		}                                                 \
	} while (0)

/* Remove the head, forgetting its deficit (DRR: an emptied queue starts the
 * next busy period afresh). */
#define ROUND_POP(r, arr)                                         \
	do {                                                      \
		uint32_t i_ = (r)->head;                          \
		(r)->head = (arr)[i_].d.next;                     \
		if ((r)->head == SCHED_NIL)                       \
			(r)->tail = SCHED_NIL;                    \
		(arr)[i_].d.next = SCHED_NIL;                     \
		(arr)[i_].d.granted = false;                      \
		(arr)[i_].d.deficit = 0;                          \
		(r)->n--;                                         \
	} while (0)

static inline void
ctr_add(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* Append packet node k to band b of leaf l (the caller checked the limit). */
void sched_leaf_push(struct dp_sched *s, struct leaf *l, uint32_t band, uint32_t k);

#endif /* DP_SCHED_PRIV_H */
