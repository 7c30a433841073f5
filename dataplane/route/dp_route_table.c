/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Placement table: built once from a policy, then only read (apart from the
 * per-lcore pick slices, see dp_route.h).
 *
 * Models are found through an open-addressing hash (linear probing, at most
 * half full) rather than a binary search over the policy's sorted array: a
 * policy may hold thousands of models and the lookup is on every activation.
 * Stages and replicas are flat arrays, so a lookup touches one hash slot, one
 * model, one stage and the stage's contiguous replicas.
 */
#include <errno.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dp_route_priv.h"

static atomic_uint route_gen_next = 1;

static inline uint32_t
model_hash(uint16_t id, uint32_t mask)
{
	return ((uint32_t)id * 0x9e3779b1u >> 16) & mask;
}

static inline uint64_t
src_key(uint32_t ip, uint16_t port)
{
	return (uint64_t)ip << 16 | port;
}

static int
src_cmp(const void *a, const void *b)
{
	const struct dp_route_src *x = a, *y = b;
	uint64_t kx = src_key(x->ip, x->port), ky = src_key(y->ip, y->port);

	return kx < ky ? -1 : kx > ky;
}

/* Sort srcs[0..n-1] by (ip, port) and drop repeats; returns the new count. */
static uint32_t
src_sort_unique(struct dp_route_src *s, uint32_t n)
{
	uint32_t i, k = 0;

	if (n == 0)
		return 0;
	qsort(s, n, sizeof(*s), src_cmp);
	for (i = 1; i < n; i++)
		if (src_cmp(&s[i], &s[k]) != 0)
			s[++k] = s[i];
	return k + 1;
}

static size_t
round_line(size_t n)
{
	return (n + DP_ROUTE_CACHE_LINE - 1) & ~(size_t)(DP_ROUTE_CACHE_LINE - 1);
}

/* One allocation per lcore slice, cache-line aligned and padded, so two lcores
 * never write the same line. */
static struct dp_route_pick *
pick_alloc(uint32_t n_replicas, uint32_t n_nodes)
{
	size_t head = round_line(sizeof(struct dp_route_pick));
	size_t cur = round_line((size_t)n_replicas * sizeof(int64_t));
	size_t load = round_line((size_t)n_nodes * sizeof(struct dp_route_load));
	struct dp_route_pick *pk;
	char *base;

	base = aligned_alloc(DP_ROUTE_CACHE_LINE, head + cur + load + DP_ROUTE_CACHE_LINE);
	if (base == NULL)
		return NULL;
	memset(base, 0, head + cur + load + DP_ROUTE_CACHE_LINE);
	pk = (struct dp_route_pick *)base;
	pk->cur = (int64_t *)(base + head);
	pk->load = (struct dp_route_load *)(base + head + cur);
	return pk;
}

static int
table_count(const struct dp_route_spec *p, struct dp_route_table *t)
{
	uint32_t i, s, r;

	for (i = 0; i < p->n_models; i++) {
		const struct dp_route_model_spec *m = &p->models[i];

		if (m->n_stages == 0 || m->n_stages > DP_ROUTE_STAGES_MAX)
			return -EINVAL;
		t->n_stages += m->n_stages;
		t->n_srcs += m->n_requesters;
		for (s = 0; s < m->n_stages; s++) {
			const struct dp_route_stage_spec *st = &m->stages[s];

			uint64_t sum = 0;

			if (st->n_replicas == 0)
				return -EINVAL;
			/* The SWRR credits live in int64 and are bounded by
			 * the weight sum; keep that sum within 31 bits. */
			for (r = 0; r < st->n_replicas; r++) {
				if (st->replicas[r].weight == 0)
					return -EINVAL;
				sum += st->replicas[r].weight;
			}
			if (sum > INT32_MAX)
				return -EINVAL;
			t->n_replicas += st->n_replicas;
			t->n_srcs += st->n_replicas;
		}
	}
	return 0;
}

static void
table_fill_model(struct dp_route_table *t, const struct dp_route_spec *p, uint32_t i,
		 uint32_t *stage_at, uint32_t *rep_at, uint32_t *src_at)
{
	const struct dp_route_model_spec *cm = &p->models[i];
	struct dp_route_model *m = &t->models[i];
	uint32_t s, r, h;

	m->id = cm->id;
	m->n_stages = cm->n_stages;
	m->first_stage = *stage_at;
	m->tenant = cm->tenant;
	m->class_idx = cm->class_idx;
	m->policy_idx = i;
	m->reply_to_requester = cm->reply_to_requester;
	m->reply_ip = cm->reply_ip;
	m->reply_port = cm->reply_port;
	m->first_req = *src_at;
	for (r = 0; r < cm->n_requesters; r++) {
		uint32_t node = cm->requesters[r];

		t->srcs[*src_at + r].ip = node < p->n_nodes ? p->node_ip[node] : 0;
		t->srcs[*src_at + r].port = 0;
		t->srcs[*src_at + r].node = node;
	}
	m->n_req = src_sort_unique(&t->srcs[*src_at], cm->n_requesters);
	*src_at += m->n_req;

	for (s = 0; s < cm->n_stages; s++) {
		const struct dp_route_stage_spec *cs = &cm->stages[s];
		struct dp_route_stage *st = &t->stages[*stage_at + s];

		st->first = *rep_at;
		st->n_replicas = cs->n_replicas;
		st->first_src = *src_at;
		for (r = 0; r < cs->n_replicas; r++) {
			const struct dp_route_replica_spec *cr = &cs->replicas[r];
			struct dp_route_replica *rp = &t->replicas[*rep_at + r];

			rp->ip = cr->ip;
			rp->port = cr->port;
			rp->node = cr->node;
			rp->weight = cr->weight;
			st->weight_sum += cr->weight;
			t->srcs[*src_at + r].ip = cr->ip;
			t->srcs[*src_at + r].port = cr->port;
			t->srcs[*src_at + r].node = cr->node;
		}
		st->n_srcs = (uint16_t)src_sort_unique(&t->srcs[*src_at], cs->n_replicas);
		*src_at += st->n_srcs;
		*rep_at += cs->n_replicas;
	}
	*stage_at += cm->n_stages;

	h = model_hash(cm->id, t->hash_mask);
	while (t->hash[h].used)
		h = (h + 1) & t->hash_mask;
	t->hash[h].id = cm->id;
	t->hash[h].used = 1;
	t->hash[h].model = i;
}

struct dp_route_table *
dp_route_table_build(const struct dp_route_spec *p, unsigned n_lcores)
{
	struct dp_route_table *t;
	uint32_t i, size, stage_at = 0, rep_at = 0, src_at = 0;
	int rc;

	if (p == NULL || n_lcores == 0 || n_lcores > DP_ROUTE_LCORES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto fail_nomem;
	rc = table_count(p, t);
	if (rc < 0) {
		free(t);
		errno = -rc;
		return NULL;
	}
	t->policy_version = p->version;
	t->gen = atomic_fetch_add_explicit(&route_gen_next, 1, memory_order_relaxed);
	t->n_nodes = p->n_nodes;
	t->n_models = p->n_models;
	t->n_lcores = n_lcores;
	for (size = 8; size < 2 * (p->n_models + 1); size <<= 1)
		;
	t->hash_mask = size - 1;
	t->hash = calloc(size, sizeof(*t->hash));
	t->models = calloc(p->n_models + 1, sizeof(*t->models));
	t->stages = calloc(t->n_stages + 1, sizeof(*t->stages));
	t->replicas = calloc(t->n_replicas + 1, sizeof(*t->replicas));
	t->srcs = calloc(t->n_srcs + 1, sizeof(*t->srcs));
	t->pick = calloc(n_lcores, sizeof(*t->pick));
	if (!t->hash || !t->models || !t->stages || !t->replicas || !t->srcs || !t->pick)
		goto fail_table;
	for (i = 0; i < n_lcores; i++) {
		t->pick[i] = pick_alloc(t->n_replicas, t->n_nodes);
		if (t->pick[i] == NULL)
			goto fail_table;
	}
	for (i = 0; i < p->n_models; i++)
		table_fill_model(t, p, i, &stage_at, &rep_at, &src_at);
	t->n_srcs = src_at;
	return t;

fail_table:
	dp_route_table_free(t);
fail_nomem:
	errno = ENOMEM;
	return NULL;
}

void
dp_route_table_free(struct dp_route_table *t)
{
	uint32_t i;

	if (t == NULL)
		return;
	if (t->pick != NULL)
		for (i = 0; i < t->n_lcores; i++)
			free(t->pick[i]);
	free(t->pick);
	free(t->srcs);
	free(t->replicas);
	free(t->stages);
	free(t->models);
	free(t->hash);
	free(t);
}

const struct dp_route_model *
dp_route_model_find(const struct dp_route_table *t, uint16_t id)
{
	uint32_t h = model_hash(id, t->hash_mask);

	/* The hash is at most half full, so a free slot ends every probe. */
	while (t->hash[h].used) {
		if (t->hash[h].id == id)
			return &t->models[t->hash[h].model];
		h = (h + 1) & t->hash_mask;
	}
	return NULL;
}

const struct dp_route_stage *
dp_route_stage_find(const struct dp_route_table *t, const struct dp_route_model *m,
		    unsigned stage)
{
	if (m == NULL || stage >= m->n_stages)
		return NULL;
	return &t->stages[m->first_stage + stage];
}

uint32_t
dp_route_src_find(const struct dp_route_table *t, uint32_t first, uint32_t n, uint32_t ip,
		  uint16_t port)
{
	const struct dp_route_src *s = &t->srcs[first];
	uint64_t key = src_key(ip, port);
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t k = src_key(s[mid].ip, s[mid].port);

		if (k == key)
			return s[mid].node;
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return DP_ROUTE_NONE;
}

void
dp_route_live_set(struct dp_route_live *lv, uint32_t node, bool up)
{
	uint64_t bit = 1ull << (node % 64);

	if (lv == NULL || lv->up == NULL || node >= lv->n_nodes)
		return;
	if (up)
		__atomic_fetch_or(&lv->up[node / 64], bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&lv->up[node / 64], ~bit, __ATOMIC_RELAXED);
}

bool
dp_route_live_up(const struct dp_route_live *lv, uint32_t node, uint64_t now_ns)
{
	uint64_t seen;

	if (lv == NULL || node >= lv->n_nodes)
		return true;
	if (lv->up != NULL &&
	    !((__atomic_load_n(&lv->up[node / 64], __ATOMIC_RELAXED) >> (node % 64)) & 1))
		return false;
	if (lv->last_seen_ns == NULL)
		return true;
	seen = __atomic_load_n(&lv->last_seen_ns[node], __ATOMIC_RELAXED);
	/* Another lcore may have stored a time a little after our now. */
	return seen != 0 && (seen >= now_ns || now_ns - seen <= lv->timeout_ns);
}
