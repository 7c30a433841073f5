/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TX scheduler: serving order (strict levels, DRR among classes of a level,
 * DRR among leaves of a class, strict bands within a leaf), token buckets,
 * flush and move.
 *
 * DRR bookkeeping follows Shreedhar & Varghese: a queue at the head of the
 * round gets its quantum once per visit ("granted"), sends while its deficit
 * covers the head packet, then goes to the tail; an emptied queue leaves the
 * round and forgets its deficit. Two refinements:
 *  - a queue alone in its round is served without charging its deficit, so it
 *    does not build up a debt (or credit) that would skew the next round;
 *  - a queue blocked by a token bucket is rotated without a new quantum, so
 *    waiting for tokens earns nothing. A pass over a round that finds every
 *    queue blocked ends the search, so a dequeue never spins.
 */
#include <string.h>

#include "dp_sched_priv.h"

/* Refill b to now and say whether it holds len (bytes or one packet), or a
 * full bucket for a packet larger than the burst. */
static inline bool
tb_ok(struct tb *b, uint64_t now, uint32_t len)
{
	int64_t need;
	uint64_t dt;

	if (b->rate == 0)
		return true;
	if (b->tokens < b->burst && now > b->last) {
		dt = now - b->last;
		if (dt > b->dt_cap)
			dt = b->dt_cap;
		b->tokens += (int64_t)(dt * b->rate);
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	if (now > b->last)
		b->last = now;
	need = (b->bytes ? (int64_t)len : 1) * TB_SCALE;
	return b->tokens >= (need < b->burst ? need : b->burst);
}

static inline void
tb_charge(struct tb *b, uint32_t len)
{
	if (b->rate != 0)
		b->tokens -= (b->bytes ? (int64_t)len : 1) * TB_SCALE;
}

static inline uint32_t
leaf_head_len(const struct dp_sched *s, const struct leaf *l)
{
	return s->nodes[l->head[__builtin_ctz(l->band_mask)]].len;
}

/* Unlink the first packet of the most urgent band; returns its node. */
static inline uint32_t
leaf_pop(struct dp_sched *s, struct leaf *l)
{
	uint32_t b = (uint32_t)__builtin_ctz(l->band_mask);
	uint32_t k = l->head[b];

	l->head[b] = s->nodes[k].next;
	if (l->head[b] == SCHED_NIL) {
		l->tail[b] = SCHED_NIL;
		l->band_mask &= ~(1u << b);
	}
	l->n--;
	s->backlog--;
	return k;
}

/* DRR admission of the head member d of a round of n: may it send len bytes
 * now? A member alone is served without charge; otherwise it gets its quantum
 * once per visit, and when the deficit falls short its visit ends (the caller
 * rotates the round). */
static inline bool
drr_ok(struct drr *d, uint32_t n, uint32_t len)
{
	if (n == 1) {
		d->granted = false;
		d->deficit = 0;
		return true;
	}
	if (!d->granted) {
		d->deficit += d->quantum;
		d->granted = true;
	}
	if (d->deficit >= (int64_t)len)
		return true;
	d->granted = false;
	return false;
}

static inline void
drr_charge(struct drr *d, uint32_t len)
{
	if (d->granted)
		d->deficit -= len;
}

/* The leaf of g that sends next. Nothing blocks inside a group, and every
 * rotation ends a visit whose next one adds a quantum, so this ends. */
static struct leaf *
group_pick(struct dp_sched *s, struct group *g)
{
	for (;;) {
		struct leaf *l = &s->leaves[g->r.head];

		if (drr_ok(&l->d, g->r.n, leaf_head_len(s, l)))
			return l;
		ROUND_ROTATE(&g->r, s->leaves);
	}
}

/* The group and leaf of c that send next, or NULL if every backlogged group's
 * tenant is out of tokens. */
static struct leaf *
class_pick(struct dp_sched *s, struct cls *c, uint64_t now, struct group **gp)
{
	uint32_t blocked = 0;

	while (c->r.n != 0) {
		struct group *g = &s->groups[c->r.head];
		struct leaf *l = group_pick(s, g);
		uint32_t len = leaf_head_len(s, l);

		if (g->tenant != SCHED_NIL && !tb_ok(&s->tenants[g->tenant], now, len)) {
			ROUND_ROTATE(&c->r, s->groups);
			if (++blocked >= c->r.n)
				return NULL;
			continue;
		}
		if (drr_ok(&g->d, c->r.n, len)) {
			*gp = g;
			return l;
		}
		ROUND_ROTATE(&c->r, s->groups);
		blocked = 0;
	}
	return NULL;
}

/* The class, group and leaf of level lv that send next; false if none can. */
static bool
level_pick(struct dp_sched *s, struct level *lv, uint64_t now, struct cls **cp,
	   struct group **gp, struct leaf **lp)
{
	uint32_t blocked = 0;

	while (lv->r.n != 0) {
		struct cls *c = &s->classes[lv->r.head];
		struct leaf *l = class_pick(s, c, now, gp);

		if (l != NULL && !tb_ok(&c->cap, now, leaf_head_len(s, l)))
			l = NULL;
		if (l == NULL) {
			ROUND_ROTATE(&lv->r, s->classes);
			if (++blocked >= lv->r.n)
				return false;
			continue;
		}
		if (drr_ok(&c->d, lv->r.n, leaf_head_len(s, l))) {
			*cp = c;
			*lp = l;
			return true;
		}
		ROUND_ROTATE(&lv->r, s->classes);
		blocked = 0;
	}
	return false;
}

/* After the head leaf l of the head group g of the head class c sent (or was
 * drained), take emptied members out of their rounds. */
static void
rounds_update(struct dp_sched *s, struct level *lv, struct cls *c, struct group *g,
	      struct leaf *l)
{
	if (l->n != 0)
		return;
	ROUND_POP(&g->r, s->leaves);
	g->active_weight -= l->weight;
	g->d.quantum = (uint32_t)(g->active_weight * s->quantum > UINT32_MAX ?
				  UINT32_MAX : g->active_weight * s->quantum);
	if (g->r.n != 0)
		return;
	ROUND_POP(&c->r, s->groups);
	if (c->r.n != 0)
		return;
	ROUND_POP(&lv->r, s->classes);
}

/* Return node k to the free list. */
static inline void
node_free(struct dp_sched *s, uint32_t k)
{
	s->nodes[k].next = s->free_head;
	s->free_head = k;
}

/* Would the next pick return the same leaf? True when l still has packets
 * and everything that chose it would choose it again: each DRR member on
 * the way has the deficit for the next packet (or is alone in its round,
 * where no deficit is kept) and every bucket holds it. Equivalent to
 * level_pick() returning l, without walking the rounds again. */
static inline bool
same_leaf_again(struct dp_sched *s, struct cls *c, struct group *g, const struct leaf *l,
		uint64_t now)
{
	uint32_t len;

	if (l->n == 0)
		return false;
	len = leaf_head_len(s, l);
	if ((l->d.granted && l->d.deficit < (int64_t)len) ||
	    (g->d.granted && g->d.deficit < (int64_t)len) ||
	    (c->d.granted && c->d.deficit < (int64_t)len))
		return false;
	if (g->tenant != SCHED_NIL && !tb_ok(&s->tenants[g->tenant], now, len))
		return false;
	return tb_ok(&c->cap, now, len);
}

unsigned
dp_sched_dequeue(struct dp_sched *s, uint64_t now_ns, void **pkts, uint32_t *lens, unsigned n)
{
	unsigned out = 0;
	uint32_t v;

	for (v = 0; v < s->n_levels && out < n; v++) {
		struct level *lv = &s->levels[v];
		struct group *g;
		struct cls *c;
		struct leaf *l;

		while (out < n && level_pick(s, lv, now_ns, &c, &g, &l)) {
			uint64_t bytes = 0;
			unsigned first = out;
			bool port_blocked = false;

			/* A run of packets from the picked leaf: the common
			 * case (one busy job) costs one pick per run, not per
			 * packet. */
			do {
				uint32_t k, len;

				/* The port is out of tokens: nothing else may go
				 * now either; the packet stays at its head. */
				if (!tb_ok(&s->port, now_ns, leaf_head_len(s, l))) {
					port_blocked = true;
					break;
				}
				k = leaf_pop(s, l);
				len = s->nodes[k].len;
				pkts[out] = s->nodes[k].pkt;
				if (lens != NULL)
					lens[out] = len;
				out++;
				bytes += len;
				node_free(s, k);
				drr_charge(&l->d, len);
				drr_charge(&g->d, len);
				drr_charge(&c->d, len);
				tb_charge(&c->cap, len);
				tb_charge(&s->port, len);
				if (g->tenant != SCHED_NIL)
					tb_charge(&s->tenants[g->tenant], len);
			} while (out < n && same_leaf_again(s, c, g, l, now_ns));
			ctr_add(&l->c.deq_pkts, out - first);
			ctr_add(&l->c.deq_bytes, bytes);
			ctr_add(&c->c.deq_pkts, out - first);
			ctr_add(&c->c.deq_bytes, bytes);
			rounds_update(s, lv, c, g, l);
			if (port_blocked)
				return out;
		}
	}
	return out;
}

unsigned
dp_sched_flush(struct dp_sched *s, void **pkts, unsigned n)
{
	unsigned out = 0;
	uint32_t v;

	for (v = 0; v < s->n_levels && out < n; v++) {
		struct level *lv = &s->levels[v];

		while (out < n && lv->r.n != 0) {
			struct cls *c = &s->classes[lv->r.head];
			struct group *g = &s->groups[c->r.head];
			struct leaf *l = &s->leaves[g->r.head];
			uint32_t k = leaf_pop(s, l);

			pkts[out++] = s->nodes[k].pkt;
			node_free(s, k);
			rounds_update(s, lv, c, g, l);
		}
	}
	return out;
}

/* Hand node k of src over to leaf dl of dst, or to dropped if dl is NULL or
 * full. Returns 1 if it went to dropped. */
static unsigned
move_one(struct dp_sched *dst, struct leaf *dl, struct dp_sched *src, uint32_t k,
	 uint32_t band, void **dropped)
{
	uint32_t len = src->nodes[k].len, dk;

	if (dl == NULL || dl->n >= dl->limit || dst->free_head == SCHED_NIL) {
		*dropped = src->nodes[k].pkt;
		if (dl != NULL) {
			ctr_add(&dl->c.drop_pkts, 1);
			ctr_add(&dl->c.drop_bytes, len);
			ctr_add(&dst->classes[dl->cls].c.drop_pkts, 1);
			ctr_add(&dst->classes[dl->cls].c.drop_bytes, len);
		}
		return 1;
	}
	dk = dst->free_head;
	dst->free_head = dst->nodes[dk].next;
	dst->nodes[dk].pkt = src->nodes[k].pkt;
	dst->nodes[dk].len = len;
	sched_leaf_push(dst, dl, band, dk);
	ctr_add(&dl->c.enq_pkts, 1);
	ctr_add(&dl->c.enq_bytes, len);
	ctr_add(&dst->classes[dl->cls].c.enq_pkts, 1);
	ctr_add(&dst->classes[dl->cls].c.enq_bytes, len);
	return 0;
}

/* Drains src the way flush does (head leaf of the head class of each level,
 * one packet at a time), so its rounds stay consistent and each leaf's bands
 * come out in order. */
unsigned
dp_sched_move(struct dp_sched *dst, struct dp_sched *src, const uint32_t *leaf_map,
	      void **dropped, unsigned max)
{
	unsigned n_drop = 0;
	uint32_t v;

	for (v = 0; v < src->n_levels; v++) {
		struct level *lv = &src->levels[v];

		while (lv->r.n != 0) {
			struct cls *c = &src->classes[lv->r.head];
			struct group *g = &src->groups[c->r.head];
			struct leaf *l = &src->leaves[g->r.head];
			uint32_t to = leaf_map[g->r.head];
			struct leaf *dl = to < dst->n_leaves ? &dst->leaves[to] : NULL;
			uint32_t band = (uint32_t)__builtin_ctz(l->band_mask), k;

			if ((dl == NULL || dl->n >= dl->limit || dst->free_head == SCHED_NIL) &&
			    n_drop == max)
				return n_drop;
			k = leaf_pop(src, l);
			n_drop += move_one(dst, dl, src, k, band, &dropped[n_drop]);
			node_free(src, k);
			rounds_update(src, lv, c, g, l);
		}
	}
	return n_drop;
}
