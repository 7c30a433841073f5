/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node liveness records. The control thread is the only writer of records
 * and of the up bitmap; lcores only add to their own count arrays, so a
 * refresh reads each lcore's counters with relaxed loads and never writes
 * them. A record's total is its base (everything counted in earlier policy
 * versions, moved in by carry-over and harvest) plus the sum over this
 * version's lcore arrays.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_live.h"

/* Rates are computed over at least this fraction of a second, so that a
 * fast refresh does not turn them into noise. */
#define DP_LIVE_RATE_MIN_DIV 4

static const char *const state_names[] = {
	[DP_LIVE_NEVER] = "never", [DP_LIVE_UP] = "up", [DP_LIVE_DOWN] = "down",
};

const char *
dp_live_state_name(enum dp_live_state s)
{
	return (unsigned)s <= DP_LIVE_DOWN ? state_names[s] : "invalid";
}

static int
by_id_cmp(const void *a, const void *b, void *nodes)
{
	const struct dp_live_node *n = nodes;

	return strcmp(n[*(const uint32_t *)a].id, n[*(const uint32_t *)b].id);
}

static uint32_t
words(uint32_t n_nodes)
{
	return n_nodes / 64 + 1;
}

int
dp_live_find(const struct dp_live *lv, const char *id)
{
	for (uint32_t lo = 0, hi = lv->n_nodes; lo < hi;) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(id, lv->nodes[lv->by_id[mid]].id);

		if (c == 0)
			return (int)lv->by_id[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static void
bitmap_write(struct dp_live *lv)
{
	for (uint32_t w = 0; w < words(lv->n_nodes); w++) {
		uint64_t v = 0;

		for (uint32_t b = 0; b < 64 && w * 64 + b < lv->n_nodes; b++)
			if (lv->nodes[w * 64 + b].state == DP_LIVE_UP)
				v |= 1ull << b;
		__atomic_store_n(&lv->up[w], v, __ATOMIC_RELAXED);
	}
}

static int
carry(struct dp_live *lv, const struct dp_live *prev)
{
	uint32_t i = 0, j = 0;

	lv->from = prev;
	lv->n_from = prev->n_nodes;
	lv->from_map = malloc((prev->n_nodes + 1) * sizeof(*lv->from_map));
	if (lv->from_map == NULL)
		return -ENOMEM;
	memset(lv->from_map, 0xff, (prev->n_nodes + 1) * sizeof(*lv->from_map));
	/* Merge the two id-sorted lists. */
	while (i < lv->n_nodes && j < prev->n_nodes) {
		struct dp_live_node *n = &lv->nodes[lv->by_id[i]];
		const struct dp_live_node *o = &prev->nodes[prev->by_id[j]];
		int c = strcmp(n->id, o->id);

		if (c < 0) {
			i++;
			continue;
		}
		if (c > 0) {
			j++;
			continue;
		}
		/* The base leaves out what prev's lcores counted: that comes
		 * in whole at harvest, once they have stopped counting. */
		n->state = o->state;
		n->pkts = o->pkts;
		n->bytes = o->bytes;
		n->last_seen = o->last_seen;
		n->base_pkts = o->base_pkts;
		n->base_bytes = o->base_bytes;
		n->base_last = o->base_last;
		n->since = o->since;
		n->pps = o->pps;
		n->bps = o->bps;
		n->n_down = o->n_down;
		n->n_up = o->n_up;
		n->prev_pkts = o->prev_pkts;
		n->prev_bytes = o->prev_bytes;
		n->prev_at = o->prev_at;
		lv->from_map[prev->by_id[j]] = lv->by_id[i];
		i++;
		j++;
	}
	return 0;
}

struct dp_live *
dp_live_create(const struct dp_live_spec *p, uint64_t hz, const struct dp_live *prev)
{
	struct dp_live *lv;

	if (p == NULL || hz == 0 || (p->n_nodes != 0 && p->nodes == NULL)) {
		errno = EINVAL;
		return NULL;
	}
	lv = calloc(1, sizeof(*lv));
	if (lv == NULL)
		return NULL;
	lv->n_nodes = p->n_nodes;
	lv->hz = hz;
	lv->timeout = (uint64_t)p->timeout_ms * (hz / 1000) +
		      (uint64_t)p->timeout_ms * (hz % 1000) / 1000;
	lv->nodes = calloc(p->n_nodes + 1, sizeof(*lv->nodes));
	lv->up = calloc(words(p->n_nodes), sizeof(*lv->up));
	lv->by_id = malloc((p->n_nodes + 1) * sizeof(*lv->by_id));
	if (lv->nodes == NULL || lv->up == NULL || lv->by_id == NULL)
		goto nomem;
	for (uint32_t i = 0; i < p->n_nodes; i++) {
		snprintf(lv->nodes[i].id, sizeof(lv->nodes[i].id), "%s",
			 p->nodes[i].id != NULL ? p->nodes[i].id : "");
		lv->nodes[i].ip = p->nodes[i].ip;
		lv->nodes[i].roles = p->nodes[i].roles;
		lv->by_id[i] = i;
	}
	qsort_r(lv->by_id, lv->n_nodes, sizeof(*lv->by_id), by_id_cmp, lv->nodes);
	if (prev != NULL && carry(lv, prev) != 0)
		goto nomem;
	lv->n_never = lv->n_nodes;
	for (uint32_t i = 0; i < lv->n_nodes; i++) {
		lv->n_up += lv->nodes[i].state == DP_LIVE_UP;
		lv->n_down += lv->nodes[i].state == DP_LIVE_DOWN;
	}
	lv->n_never -= lv->n_up + lv->n_down;
	bitmap_write(lv);
	return lv;

nomem:
	dp_live_free(lv);
	errno = ENOMEM;
	return NULL;
}

void
dp_live_free(struct dp_live *lv)
{
	if (lv == NULL)
		return;
	free(lv->nodes);
	free(lv->up);
	free(lv->by_id);
	free(lv->from_map);
	free(lv);
}

int
dp_live_harvest(struct dp_live *lv, const struct dp_live *old, struct dp_live_cnt *const *cnt,
		unsigned n_lcores)
{
	if (lv == NULL || old == NULL || lv->from != old)
		return -EINVAL;
	for (unsigned k = 0; k < n_lcores; k++) {
		if (cnt[k] == NULL)
			continue;
		for (uint32_t i = 0; i < old->n_nodes; i++) {
			uint32_t to = lv->from_map[i];
			uint64_t last;

			if (to == UINT32_MAX)
				continue;
			lv->nodes[to].base_pkts += __atomic_load_n(&cnt[k][i].pkts, __ATOMIC_RELAXED);
			lv->nodes[to].base_bytes += __atomic_load_n(&cnt[k][i].bytes, __ATOMIC_RELAXED);
			last = __atomic_load_n(&cnt[k][i].last, __ATOMIC_RELAXED);
			if (last > lv->nodes[to].base_last)
				lv->nodes[to].base_last = last;
		}
	}
	/* Retired: nothing points back at it any more. */
	lv->from = NULL;
	return 0;
}

static enum dp_live_state
state_at(const struct dp_live *lv, uint64_t last, uint64_t now)
{
	if (last == 0)
		return DP_LIVE_NEVER;
	/* An lcore's clock reading may be a little ahead of ours. */
	return last >= now || now - last <= lv->timeout ? DP_LIVE_UP : DP_LIVE_DOWN;
}

unsigned
dp_live_update(struct dp_live *lv, struct dp_live_cnt *const *cnt, unsigned n_lcores,
	       uint64_t now)
{
	unsigned changed = 0;

	lv->n_up = lv->n_down = lv->n_never = 0;
	for (uint32_t i = 0; i < lv->n_nodes; i++) {
		struct dp_live_node *n = &lv->nodes[i];
		uint64_t pkts = n->base_pkts, bytes = n->base_bytes, last = n->base_last;
		enum dp_live_state s;

		for (unsigned k = 0; k < n_lcores; k++) {
			uint64_t l;

			if (cnt[k] == NULL)
				continue;
			pkts += __atomic_load_n(&cnt[k][i].pkts, __ATOMIC_RELAXED);
			bytes += __atomic_load_n(&cnt[k][i].bytes, __ATOMIC_RELAXED);
			l = __atomic_load_n(&cnt[k][i].last, __ATOMIC_RELAXED);
			if (l > last)
				last = l;
		}
		n->pkts = pkts;
		n->bytes = bytes;
		n->last_seen = last;
		if (n->prev_at == 0) {
			n->prev_at = now;
			n->prev_pkts = pkts;
			n->prev_bytes = bytes;
		} else if (now > n->prev_at && now - n->prev_at >= lv->hz / DP_LIVE_RATE_MIN_DIV) {
			uint64_t dt = now - n->prev_at;

			n->pps = (uint64_t)((unsigned __int128)(pkts - n->prev_pkts) * lv->hz / dt);
			n->bps = (uint64_t)((unsigned __int128)(bytes - n->prev_bytes) * 8 * lv->hz / dt);
			n->prev_at = now;
			n->prev_pkts = pkts;
			n->prev_bytes = bytes;
		}
		s = state_at(lv, last, now);
		if (s != n->state) {
			n->n_up += s == DP_LIVE_UP;
			n->n_down += s == DP_LIVE_DOWN;
			n->state = s;
			n->since = now;
			changed++;
		}
		lv->n_up += s == DP_LIVE_UP;
		lv->n_down += s == DP_LIVE_DOWN;
		lv->n_never += s == DP_LIVE_NEVER;
	}
	bitmap_write(lv);
	return changed;
}
