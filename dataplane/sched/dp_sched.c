/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TX scheduler: construction, enqueue, move, counters. The serving order is
 * in dp_sched_deq.c.
 *
 * Queued packets live in one node pool per scheduler, sized to the sum of the
 * leaves' queue lengths (or the smaller max_backlog: thousands of jobs times
 * their queue length would be more packets than the gateway has mbufs); the
 * pool is a free list of indices, which keeps a node at 16 bytes and every
 * queue operation O(1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_sched_priv.h"

#define QUANTUM_DEFAULT 2048u
#define BURST_MAX (1ull << 30)

static int
tb_init(struct tb *b, const struct dp_sched_rate *r)
{
	uint64_t burst;

	memset(b, 0, sizeof(*b));
	if (r == NULL || r->rate == 0)
		return 0;
	if (r->unit != DP_SCHED_UNIT_BYTES && r->unit != DP_SCHED_UNIT_PACKETS)
		return -EINVAL;
	b->bytes = r->unit == DP_SCHED_UNIT_BYTES;
	burst = r->burst;
	if (burst == 0) {
		burst = r->rate / 1000;
		if (burst < (b->bytes ? 16384u : 16u))
			burst = b->bytes ? 16384u : 16u;
		if (burst > BURST_MAX)
			burst = BURST_MAX;
	}
	if (burst > BURST_MAX || r->rate > BURST_MAX * 1000)
		return -EINVAL;
	b->rate = r->rate;
	b->burst = (int64_t)burst * TB_SCALE;
	b->tokens = b->burst;
	/* From the deepest deficit (one 64 KiB packet below zero) to full: after
	 * that long the bucket is full, and dt * rate cannot overflow. */
	b->dt_cap = (uint64_t)(b->burst + 65536 * TB_SCALE) / b->rate + 1;
	return 0;
}

static int
conf_check(const struct dp_sched_conf *conf, uint64_t *total)
{
	uint32_t i;

	if (conf == NULL || conf->n_classes == 0 || conf->n_classes > DP_SCHED_CLASSES_MAX ||
	    conf->classes == NULL || conf->n_leaves == 0 || conf->leaves == NULL ||
	    (conf->n_tenants != 0 && conf->tenants == NULL))
		return -EINVAL;
	for (i = 0; i < conf->n_classes; i++)
		if (conf->classes[i].weight == 0)
			return -EINVAL;
	*total = 0;
	for (i = 0; i < conf->n_leaves; i++) {
		const struct dp_sched_leaf_conf *lc = &conf->leaves[i];

		if (lc->cls >= conf->n_classes || lc->weight == 0 || lc->queue_len == 0 ||
		    (lc->tenant != DP_SCHED_NONE && lc->tenant >= conf->n_tenants))
			return -EINVAL;
		*total += lc->queue_len;
	}
	if (conf->max_backlog != 0 && conf->max_backlog < *total)
		*total = conf->max_backlog;
	/* Node indices stay below SCHED_NIL. */
	if (*total > (1u << 31))
		return -EINVAL;
	return 0;
}

/* Classes of equal priority share a level; levels are served in ascending
 * priority order. */
static void
levels_build(struct dp_sched *s, const struct dp_sched_conf *conf)
{
	uint32_t i, j;
	int prio, last = -1;

	for (i = 0; i < DP_SCHED_CLASSES_MAX; i++)
		ROUND_INIT(&s->levels[i].r);
	for (;;) {
		prio = 256;
		for (i = 0; i < conf->n_classes; i++)
			if (conf->classes[i].priority > last && conf->classes[i].priority < prio)
				prio = conf->classes[i].priority;
		if (prio == 256)
			break;
		for (j = 0; j < conf->n_classes; j++)
			if (conf->classes[j].priority == prio)
				s->classes[j].level = s->n_levels;
		s->n_levels++;
		last = prio;
	}
}

/* One group per (class, tenant) pair that has leaves; gmap[cls * (n_tenants
 * + 1) + tenant or n_tenants] -> group index while building. */
static int
groups_build(struct dp_sched *s, const struct dp_sched_conf *conf)
{
	uint32_t stride = conf->n_tenants + 1, i;
	uint32_t *gmap = malloc((size_t)conf->n_classes * stride * sizeof(*gmap));

	if (gmap == NULL)
		return -ENOMEM;
	memset(gmap, 0xff, (size_t)conf->n_classes * stride * sizeof(*gmap));
	for (i = 0; i < conf->n_leaves; i++) {
		const struct dp_sched_leaf_conf *lc = &conf->leaves[i];
		uint32_t t = lc->tenant == DP_SCHED_NONE ? conf->n_tenants : lc->tenant;
		uint32_t *g = &gmap[lc->cls * stride + t];

		if (*g == SCHED_NIL) {
			struct group *gr = &s->groups[s->n_groups];

			*g = s->n_groups++;
			gr->cls = lc->cls;
			gr->tenant = lc->tenant == DP_SCHED_NONE ? SCHED_NIL : lc->tenant;
			ROUND_INIT(&gr->r);
			gr->d.next = SCHED_NIL;
		}
		s->leaves[i].group = *g;
	}
	free(gmap);
	return 0;
}

static uint32_t
quantum_of(uint64_t weight, uint32_t quantum)
{
	uint64_t q = weight * quantum;

	return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

struct dp_sched *
dp_sched_create(const struct dp_sched_conf *conf)
{
	struct dp_sched *s;
	uint64_t total;
	uint32_t i;
	int rc;

	rc = conf_check(conf, &total);
	if (rc < 0)
		goto fail;
	rc = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto fail;
	s->leaves = calloc(conf->n_leaves, sizeof(*s->leaves));
	s->groups = calloc(conf->n_leaves, sizeof(*s->groups));
	s->tenants = calloc(conf->n_tenants + 1, sizeof(*s->tenants));
	s->nodes = malloc(total * sizeof(*s->nodes));
	if (s->leaves == NULL || s->groups == NULL || s->tenants == NULL || s->nodes == NULL)
		goto fail_sched;
	s->n_classes = conf->n_classes;
	s->n_leaves = conf->n_leaves;
	s->n_tenants = conf->n_tenants;
	s->quantum = conf->quantum ? conf->quantum : QUANTUM_DEFAULT;
	rc = -EINVAL;
	for (i = 0; i < conf->n_classes; i++) {
		struct cls *c = &s->classes[i];

		c->priority = conf->classes[i].priority;
		c->d.quantum = quantum_of(conf->classes[i].weight, s->quantum);
		c->d.next = SCHED_NIL;
		ROUND_INIT(&c->r);
		if (tb_init(&c->cap, &conf->classes[i].cap) < 0)
			goto fail_sched;
	}
	for (i = 0; i < conf->n_tenants; i++)
		if (tb_init(&s->tenants[i], &conf->tenants[i]) < 0)
			goto fail_sched;
	if (tb_init(&s->port, &conf->port_cap) < 0)
		goto fail_sched;
	for (i = 0; i < conf->n_leaves; i++) {
		const struct dp_sched_leaf_conf *lc = &conf->leaves[i];
		struct leaf *l = &s->leaves[i];
		uint32_t b;

		for (b = 0; b < DP_SCHED_BANDS; b++)
			l->head[b] = l->tail[b] = SCHED_NIL;
		l->limit = lc->queue_len;
		l->cls = lc->cls;
		l->weight = lc->weight;
		l->d.quantum = quantum_of(lc->weight, s->quantum);
		l->d.next = SCHED_NIL;
	}
	rc = groups_build(s, conf);
	if (rc < 0)
		goto fail_sched;
	s->capped = s->port.rate != 0;
	for (i = 0; i < conf->n_classes; i++)
		s->capped |= s->classes[i].cap.rate != 0;
	for (i = 0; i < conf->n_tenants; i++)
		s->capped |= s->tenants[i].rate != 0;
	for (i = 0; i < total; i++)
		s->nodes[i].next = i + 1 < total ? i + 1 : SCHED_NIL;
	s->free_head = total ? 0 : SCHED_NIL;
	levels_build(s, conf);
	return s;

fail_sched:
	free(s->nodes);
	free(s->tenants);
	free(s->groups);
	free(s->leaves);
	free(s);
fail:
	errno = -rc;
	return NULL;
}

int
dp_sched_free(struct dp_sched *s)
{
	if (s == NULL)
		return 0;
	if (s->backlog != 0)
		return -EBUSY;
	free(s->nodes);
	free(s->tenants);
	free(s->groups);
	free(s->leaves);
	free(s);
	return 0;
}

void
sched_leaf_push(struct dp_sched *s, struct leaf *l, uint32_t band, uint32_t k)
{
	struct group *g = &s->groups[l->group];
	struct cls *c = &s->classes[l->cls];

	s->nodes[k].next = SCHED_NIL;
	if (l->tail[band] == SCHED_NIL)
		l->head[band] = k;
	else
		s->nodes[l->tail[band]].next = k;
	l->tail[band] = k;
	l->band_mask |= 1u << band;
	s->backlog++;
	if (l->n++ != 0)
		return;
	/* The leaf just became backlogged: it joins the tail of its group's
	 * round, which earns its weight; an idle group joins its class's
	 * round, an idle class its level's. */
	ROUND_PUSH(&g->r, s->leaves, (uint32_t)(l - s->leaves));
	g->active_weight += l->weight;
	g->d.quantum = quantum_of(g->active_weight, s->quantum);
	if (g->r.n != 1)
		return;
	ROUND_PUSH(&c->r, s->groups, l->group);
	if (c->r.n != 1)
		return;
	ROUND_PUSH(&s->levels[c->level].r, s->classes, l->cls);
}

unsigned
dp_sched_enqueue(struct dp_sched *s, const struct dp_sched_pkt *pkts, unsigned n, void **dropped)
{
	unsigned i, n_drop = 0;

	for (i = 0; i < n; i++) {
		const struct dp_sched_pkt *p = &pkts[i];
		struct leaf *l;
		uint32_t k;

		if (p->leaf >= s->n_leaves || p->len == 0) {
			ctr_add(&s->bad_input, 1);
			dropped[n_drop++] = p->pkt;
			continue;
		}
		l = &s->leaves[p->leaf];
		if (l->n >= l->limit || s->free_head == SCHED_NIL) {
			ctr_add(&l->c.drop_pkts, 1);
			ctr_add(&l->c.drop_bytes, p->len);
			ctr_add(&s->classes[l->cls].c.drop_pkts, 1);
			ctr_add(&s->classes[l->cls].c.drop_bytes, p->len);
			dropped[n_drop++] = p->pkt;
			continue;
		}
		k = s->free_head;
		s->free_head = s->nodes[k].next;
		s->nodes[k].pkt = p->pkt;
		s->nodes[k].len = p->len;
		sched_leaf_push(s, l, p->band < DP_SCHED_BANDS ? p->band : DP_SCHED_BANDS - 1, k);
		ctr_add(&l->c.enq_pkts, 1);
		ctr_add(&l->c.enq_bytes, p->len);
		ctr_add(&s->classes[l->cls].c.enq_pkts, 1);
		ctr_add(&s->classes[l->cls].c.enq_bytes, p->len);
	}
	return n_drop;
}

uint32_t
dp_sched_backlog(const struct dp_sched *s)
{
	return s->backlog;
}

bool
dp_sched_capped(const struct dp_sched *s)
{
	return s->capped;
}

/* Sort key: level in the high bits, band in the low ones. */
static inline uint32_t
direct_key(const struct dp_sched *s, const struct dp_sched_pkt *p)
{
	uint32_t band = p->band < DP_SCHED_BANDS ? p->band : DP_SCHED_BANDS - 1;

	if (p->leaf >= s->n_leaves)
		return UINT32_MAX;
	return s->classes[s->leaves[p->leaf].cls].level * DP_SCHED_BANDS + band;
}

#define DIRECT_KEYS (DP_SCHED_CLASSES_MAX * DP_SCHED_BANDS + 1)
#define DIRECT_SORT_MAX 1024u

void
dp_sched_order_direct(const struct dp_sched *s, struct dp_sched_pkt *pkts, unsigned n)
{
	uint16_t key[DIRECT_SORT_MAX], pos[DIRECT_KEYS + 1];
	struct dp_sched_pkt tmp[DIRECT_SORT_MAX];
	unsigned i, j, done = 0;
	bool mixed = false;

	/* Stable counting sort over (level, band), unknown leaves last, in
	 * chunks of DIRECT_SORT_MAX (a poll's TX is far shorter). Most batches
	 * are one class and band: that case is found and left alone first. */
	while (done < n) {
		unsigned m = n - done < DIRECT_SORT_MAX ? n - done : DIRECT_SORT_MAX;
		struct dp_sched_pkt *p = pkts + done;

		for (i = 0; i < m; i++) {
			uint32_t k = direct_key(s, &p[i]);

			key[i] = (uint16_t)(k == UINT32_MAX ? DIRECT_KEYS - 1 : k);
			mixed |= key[i] != key[0];
		}
		done += m;
		if (!mixed)
			continue;
		memset(pos, 0, sizeof(pos));
		for (i = 0; i < m; i++)
			pos[key[i] + 1]++;
		for (j = 1; j <= DIRECT_KEYS; j++)
			pos[j] += pos[j - 1];
		for (i = 0; i < m; i++)
			tmp[pos[key[i]]++] = p[i];
		memcpy(p, tmp, m * sizeof(*p));
		mixed = false;
	}
}

/* Runs of one leaf (the usual batch: one job's fan-out) are added once. */
void
dp_sched_count_direct(struct dp_sched *s, const struct dp_sched_pkt *pkts, unsigned n)
{
	unsigned i = 0;

	while (i < n) {
		uint32_t leaf = pkts[i].leaf;
		uint64_t bytes = 0, cnt = 0;
		struct leaf *l;
		struct cls *c;

		for (; i < n && pkts[i].leaf == leaf; i++, cnt++)
			bytes += pkts[i].len;
		if (leaf >= s->n_leaves)
			continue;
		l = &s->leaves[leaf];
		c = &s->classes[l->cls];
		ctr_add(&l->c.enq_pkts, cnt);
		ctr_add(&l->c.enq_bytes, bytes);
		ctr_add(&l->c.deq_pkts, cnt);
		ctr_add(&l->c.deq_bytes, bytes);
		ctr_add(&c->c.enq_pkts, cnt);
		ctr_add(&c->c.enq_bytes, bytes);
		ctr_add(&c->c.deq_pkts, cnt);
		ctr_add(&c->c.deq_bytes, bytes);
	}
}

static void
counters_read(const struct dp_sched_counters *c, struct dp_sched_counters *out)
{
	out->enq_pkts = __atomic_load_n(&c->enq_pkts, __ATOMIC_RELAXED);
	out->enq_bytes = __atomic_load_n(&c->enq_bytes, __ATOMIC_RELAXED);
	out->deq_pkts = __atomic_load_n(&c->deq_pkts, __ATOMIC_RELAXED);
	out->deq_bytes = __atomic_load_n(&c->deq_bytes, __ATOMIC_RELAXED);
	out->drop_pkts = __atomic_load_n(&c->drop_pkts, __ATOMIC_RELAXED);
	out->drop_bytes = __atomic_load_n(&c->drop_bytes, __ATOMIC_RELAXED);
}

int
dp_sched_class_stats(const struct dp_sched *s, uint32_t cls, struct dp_sched_counters *out)
{
	if (cls >= s->n_classes)
		return -EINVAL;
	counters_read(&s->classes[cls].c, out);
	return 0;
}

int
dp_sched_leaf_stats(const struct dp_sched *s, uint32_t leaf, struct dp_sched_counters *out)
{
	if (leaf >= s->n_leaves)
		return -EINVAL;
	counters_read(&s->leaves[leaf].c, out);
	return 0;
}

uint64_t
dp_sched_bad_input(const struct dp_sched *s)
{
	return __atomic_load_n(&s->bad_input, __ATOMIC_RELAXED);
}
