/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_slot: slot state machine. The decision runs once per contribution on the
 * lcore that owns the table, so it touches one set (its header and one bitmap
 * word) and never scans: completion is "seen == quorum", which holds
 * because a rank's bit is only ever set once per use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_slot.h"

static uint32_t set_stride(uint16_t n_workers)
{
	size_t words = ((size_t)n_workers + 63) / 64;
	size_t sz = sizeof(struct dp_slot_set) + words * sizeof(uint64_t);

	return (uint32_t)((sz + 63) & ~(size_t)63);
}

size_t dp_slot_table_mem_size(uint32_t n_slots, uint16_t n_workers)
{
	if (n_slots == 0 || n_slots > DP_PROTO_SLOTS_MAX ||
	    n_workers == 0 || n_workers > DP_PROTO_WORKERS_MAX)
		return 0;
	return (size_t)n_slots * 2 * set_stride(n_workers);
}

int dp_slot_table_init(struct dp_slot_table *t, void *mem,
		       uint32_t n_slots, uint16_t n_workers)
{
	size_t size = dp_slot_table_mem_size(n_slots, n_workers);

	if (t == NULL || size == 0 || mem == NULL || ((uintptr_t)mem & 63) != 0)
		return -EINVAL;
	memset(mem, 0, size);
	t->n_slots = n_slots;
	t->n_workers = n_workers;
	t->quorum = n_workers;
	t->words = (uint16_t)((n_workers + 63) / 64);
	t->stride = set_stride(n_workers);
	t->owned = false;
	t->sets = mem;
	return 0;
}

struct dp_slot_table *dp_slot_table_create(uint32_t n_slots, uint16_t n_workers)
{
	size_t size = dp_slot_table_mem_size(n_slots, n_workers);
	struct dp_slot_table *t;
	void *mem;

	if (size == 0) {
		errno = EINVAL;
		return NULL;
	}
	t = malloc(sizeof(*t));
	if (t == NULL)
		goto fail;
	mem = aligned_alloc(64, size);
	if (mem == NULL)
		goto free_table;
	dp_slot_table_init(t, mem, n_slots, n_workers);
	t->owned = true;
	return t;

free_table:
	free(t);
fail:
	errno = ENOMEM;
	return NULL;
}

void dp_slot_table_free(struct dp_slot_table *t)
{
	if (t == NULL)
		return;
	if (t->owned)
		free(t->sets);
	free(t);
}

static void use_start(const struct dp_slot_table *t, struct dp_slot_set *s, uint16_t rank,
		      uint32_t round, uint32_t offset, uint16_t count)
{
	/* At most 16 words; a loop beats a memset call for the usual one. */
	for (uint16_t w = 0; w < t->words; w++)
		s->bitmap[w] = 0;
	s->bitmap[rank >> 6] = 1ull << (rank & 63);
	s->round = round;
	s->offset = offset;
	s->count = count;
	s->seen = 1;
	s->state = DP_SLOT_ACTIVE;
}

enum dp_slot_action dp_slot_contribute(const struct dp_slot_table *t, struct dp_slot_set *s,
				       uint16_t rank, uint32_t round, uint32_t offset,
				       uint16_t count, unsigned *events)
{
	uint64_t bit, *word;
	int cmp;

	*events = 0;
	if (rank >= t->n_workers)
		return DP_SLOT_BAD_RANK;
	if (s->state == DP_SLOT_EMPTY) {
		cmp = 1;
	} else {
		cmp = dp_proto_tag_cmp_inline(round, offset, s->round, s->offset);
		if (cmp < 0)
			return DP_SLOT_STALE;
	}
	if (cmp > 0) {
		/* Under the protocol every worker already has the previous
		 * use's result (docs/protocol.md, section 5); an incomplete
		 * one means a restart, which the caller counts. */
		if (s->state != DP_SLOT_EMPTY)
			*events = DP_SLOT_EV_REUSED |
				  (s->state == DP_SLOT_ACTIVE ? DP_SLOT_EV_ABANDONED : 0);
		use_start(t, s, rank, round, offset, count);
		if (t->quorum == 1) {
			s->state = DP_SLOT_COMPLETE;
			return DP_SLOT_LOAD_COMPLETE;
		}
		return DP_SLOT_LOAD;
	}

	/* The count first: a resend goes only to a request that matches the
	 * result, so a small GRAD cannot draw a large RESULT (amplification). */
	if (count != s->count)
		return DP_SLOT_COUNT_MISMATCH;
	word = &s->bitmap[rank >> 6];
	bit = 1ull << (rank & 63);
	if (*word & bit)
		return s->state == DP_SLOT_COMPLETE ? DP_SLOT_RESEND : DP_SLOT_DUPLICATE;
	if (s->state == DP_SLOT_COMPLETE)
		return DP_SLOT_LATE;        /* closed early, without this rank */
	*word |= bit;
	if (++s->seen == t->quorum) {
		s->state = DP_SLOT_COMPLETE;
		return DP_SLOT_ADD_COMPLETE;
	}
	return DP_SLOT_ADD;
}

void dp_slot_cancel(const struct dp_slot_table *t, struct dp_slot_set *s, uint16_t rank)
{
	if (rank >= t->n_workers || !dp_slot_has_rank(s, rank))
		return;
	s->bitmap[rank >> 6] &= ~(1ull << (rank & 63));
	s->seen--;
	s->state = s->seen == 0 ? DP_SLOT_EMPTY : DP_SLOT_ACTIVE;
}

int dp_slot_table_quorum_set(struct dp_slot_table *t, uint16_t quorum)
{
	if (quorum == 0 || quorum > t->n_workers)
		return -EINVAL;
	t->quorum = quorum;
	return 0;
}

bool dp_slot_close(struct dp_slot_set *s, uint16_t min)
{
	if (s->state != DP_SLOT_ACTIVE || s->seen < min)
		return false;
	s->state = DP_SLOT_COMPLETE;
	return true;
}
