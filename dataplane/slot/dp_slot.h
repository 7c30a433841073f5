/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_slot: the per-job slot state machine of the loss-recovery protocol
 * (docs/protocol.md, section 5). DPDK-free: it decides, the caller acts.
 *
 * A table holds n_slots slot indices with two sets each. A set remembers its
 * current use: the tag (round, offset), the element count, a bitmap of the
 * ranks that contributed (sized to the job, up to DP_PROTO_WORKERS_MAX), how
 * many did, and whether the use completed. dp_slot_contribute() classifies one
 * contribution, updates the metadata and returns what the caller must do with
 * the payload. Buffers are the caller's: each set has an opaque `user` pointer
 * the caller may use for its accumulator; this module never touches it.
 *
 * Threads: a table is owned by one thread (in the gateway, one data lcore per
 * shard). No function locks or allocates except dp_slot_table_create().
 */
#ifndef DP_SLOT_H
#define DP_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_proto.h"

/* How many slot indices a job gets from its slot-memory quota is
 * cp_job_slots() in control/policy/cp_policy.h, the one formula the validator
 * and the gateway share. */

enum dp_slot_state {
	DP_SLOT_EMPTY = 0,   /* never used, or its only contribution was cancelled */
	DP_SLOT_ACTIVE,      /* collecting contributions */
	DP_SLOT_COMPLETE,    /* the quorum (all n_workers by default) contributed,
				or the caller closed it; the result is kept */
};

/* One set. The bitmap (words of 64 ranks) follows the struct in memory. */
struct dp_slot_set {
	uint32_t round;          /* tag of the current use */
	uint32_t offset;
	uint16_t count;          /* elements of the current use */
	uint16_t seen;           /* contributions counted in the current use */
	uint8_t state;           /* enum dp_slot_state */
	uint8_t hint;            /* the caller's (layer-priority hint); never touched here */
	uint16_t aux;            /* the caller's (the gateway: rank-order fold cursor);
				    never touched here */
	void *user;              /* the caller's buffer handle; never touched here */
	uint64_t opened;         /* the caller's (the gateway: when the use began,
				    for deadlines); never touched here */
	uint64_t bitmap[];       /* bit r = rank r contributed */
};

struct dp_slot_table {
	uint32_t n_slots;        /* slot indices */
	uint16_t n_workers;      /* ranks 0 .. n_workers-1 */
	uint16_t quorum;         /* contributions that complete a use (n_workers
				    unless dp_slot_table_quorum_set()) */
	uint16_t words;          /* bitmap words per set */
	uint32_t stride;         /* bytes per set, a multiple of 64 */
	bool owned;              /* memory from dp_slot_table_create() */
	uint8_t *sets;           /* 2 * n_slots sets of stride bytes */
};

/* What to do with a contribution (the return of dp_slot_contribute()). */
enum dp_slot_action {
	DP_SLOT_LOAD = 0,        /* first contribution of a new use: load it */
	DP_SLOT_ADD,             /* add it into the accumulator */
	DP_SLOT_LOAD_COMPLETE,   /* load it; the use is complete (a quorum of 1) */
	DP_SLOT_ADD_COMPLETE,    /* add it; the use is complete: fan the result out */
	DP_SLOT_DUPLICATE,       /* already counted in this incomplete use: drop */
	DP_SLOT_RESEND,          /* use complete: send the stored result to this rank */
	DP_SLOT_LATE,            /* use complete without this rank (a quorum, or
				    closed): not added; send it the result */
	DP_SLOT_STALE,           /* older than the set's current use: drop */
	DP_SLOT_COUNT_MISMATCH,  /* count differs from the use's: drop */
	DP_SLOT_BAD_RANK,        /* rank >= n_workers: drop */
	DP_SLOT_ACTION_MAX
};

/* Flags dp_slot_contribute() may add in *events. */
#define DP_SLOT_EV_REUSED    0x1u  /* a new use replaced a previous one: its
				      buffer may still be referenced */
#define DP_SLOT_EV_ABANDONED 0x2u  /* ... and that previous use was incomplete */

/* Bytes a table for n_slots x n_workers needs (for caller-provided memory,
 * 64-byte aligned); 0 if an argument is out of range. */
size_t dp_slot_table_mem_size(uint32_t n_slots, uint16_t n_workers);

/* Initialise t over mem (dp_slot_table_mem_size() bytes, 64-byte aligned,
 * zeroed by this call). Returns 0, or -EINVAL if n_slots is 0 or above
 * DP_PROTO_SLOTS_MAX, n_workers is 0 or above DP_PROTO_WORKERS_MAX, or mem is
 * NULL or misaligned. */
int dp_slot_table_init(struct dp_slot_table *t, void *mem,
		       uint32_t n_slots, uint16_t n_workers);

/* Allocate and initialise a table (heap). Returns NULL with errno EINVAL or
 * ENOMEM. Free with dp_slot_table_free(). */
struct dp_slot_table *dp_slot_table_create(uint32_t n_slots, uint16_t n_workers);
void dp_slot_table_free(struct dp_slot_table *t);

/* The set (index, set) of t. index < n_slots, set 0 or 1 (not checked: the
 * caller has range-checked the slot index against the job). */
static inline struct dp_slot_set *
dp_slot_set_get(const struct dp_slot_table *t, uint32_t index, unsigned set)
{
	return (struct dp_slot_set *)(void *)(t->sets +
		((size_t)index * 2 + (set & 1)) * t->stride);
}

/*
 * Classify a contribution of `count` elements with tag (round, offset) from
 * `rank` to set s of table t, and update s:
 *   - LOAD / LOAD_COMPLETE: s now holds a new use with this tag and count,
 *     rank's bit set, seen = 1; *events may carry REUSED / ABANDONED.
 *   - ADD / ADD_COMPLETE: rank's bit set, seen incremented; on COMPLETE (the
 *     quorum reached) the state is DP_SLOT_COMPLETE.
 *   - every other action leaves s unchanged. For the current tag, a count
 *     other than the use's is COUNT_MISMATCH before anything else: a
 *     RESEND answers only a request of the result's own size.
 * *events is always written (0 if nothing happened). If the caller cannot
 * act on a LOAD/ADD (no buffer), it must call dp_slot_cancel() at once.
 */
enum dp_slot_action dp_slot_contribute(const struct dp_slot_table *t, struct dp_slot_set *s,
				       uint16_t rank, uint32_t round, uint32_t offset,
				       uint16_t count, unsigned *events);

/* Complete uses at `quorum` contributions instead of n_workers (a partial
 * job, docs/protocol.md section 5, "Partial rounds"): a rank that comes
 * after is DP_SLOT_LATE. Returns 0, or -EINVAL unless 1 <= quorum <=
 * n_workers. Before the table is used. */
int dp_slot_table_quorum_set(struct dp_slot_table *t, uint16_t quorum);

/* Close s's use now (a deadline passed), if it is collecting and has at
 * least min contributions: it becomes complete with the ranks it has.
 * Returns true if it did. */
bool dp_slot_close(struct dp_slot_set *s, uint16_t min);

/* Undo the load or add that dp_slot_contribute() just returned for rank on s:
 * the rank's bit is cleared and the use is no longer complete; a use left with
 * no contribution becomes EMPTY. */
void dp_slot_cancel(const struct dp_slot_table *t, struct dp_slot_set *s, uint16_t rank);

/* True if rank's bit is set in s's current use. */
static inline bool dp_slot_has_rank(const struct dp_slot_set *s, uint16_t rank)
{
	return (s->bitmap[rank >> 6] >> (rank & 63)) & 1;
}

#endif /* DP_SLOT_H */
