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

static inline bool
tb_ok(struct tb *b, uint64_t now)
{
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
	return b->tokens > 0;
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

static inline void
leaf_rotate(struct dp_sched *s, struct cls *c)
{
	uint32_t i = c->act_head;

	if (c->n_active < 2)
		return;
	c->act_head = s->leaves[i].next;
	s->leaves[i].next = SCHED_NIL;
	s->leaves[c->act_tail].next = i;
	c->act_tail = i;
}

static inline void
class_rotate(struct dp_sched *s, struct level *lv)
{
	uint32_t i = lv->act_head;

	if (lv->n_active < 2)
		return;
	lv->act_head = s->classes[i].next;
	s->classes[i].next = SCHED_NIL;
	s->classes[lv->act_tail].next = i;
	lv->act_tail = i;
}

/* The leaf of c that sends next, or NULL if every backlogged leaf's tenant
 * is out of tokens. */
static struct leaf *
class_pick(struct dp_sched *s, struct cls *c, uint64_t now)
{
	uint32_t blocked = 0;

	while (c->n_active != 0) {
		struct leaf *l = &s->leaves[c->act_head];

		if (l->tenant != SCHED_NIL && !tb_ok(&s->tenants[l->tenant], now)) {
			leaf_rotate(s, c);
			if (++blocked >= c->n_active)
				return NULL;
			continue;
		}
		if (c->n_active == 1) {
			l->granted = false;
			l->deficit = 0;
			return l;
		}
		if (!l->granted) {
			l->deficit += l->quantum;
			l->granted = true;
		}
		if (l->deficit >= (int64_t)leaf_head_len(s, l))
			return l;
		l->granted = false;
		leaf_rotate(s, c);
		blocked = 0;
	}
	return NULL;
}

/* The class and leaf of level lv that send next; false if none can. */
static bool
level_pick(struct dp_sched *s, struct level *lv, uint64_t now, struct cls **cp, struct leaf **lp)
{
	uint32_t blocked = 0;

	while (lv->n_active != 0) {
		struct cls *c = &s->classes[lv->act_head];
		struct leaf *l = NULL;

		if (tb_ok(&c->cap, now))
			l = class_pick(s, c, now);
		if (l == NULL) {
			class_rotate(s, lv);
			if (++blocked >= lv->n_active)
				return false;
			continue;
		}
		*cp = c;
		*lp = l;
		if (lv->n_active == 1) {
			c->granted = false;
			c->deficit = 0;
			return true;
		}
		if (!c->granted) {
			c->deficit += c->quantum;
			c->granted = true;
		}
		if (c->deficit >= (int64_t)leaf_head_len(s, l))
			return true;
		c->granted = false;
		class_rotate(s, lv);
		blocked = 0;
	}
	return false;
}

/* After l (at the head of c's round) sent, drop emptied queues from their
 * rounds. */
static void
rounds_update(struct level *lv, struct cls *c, struct leaf *l)
{
	if (l->n != 0)
		return;
	c->act_head = l->next;
	if (c->act_head == SCHED_NIL)
		c->act_tail = SCHED_NIL;
	l->next = SCHED_NIL;
	l->granted = false;
	l->deficit = 0;
	if (--c->n_active != 0)
		return;
	lv->act_head = c->next;
	if (lv->act_head == SCHED_NIL)
		lv->act_tail = SCHED_NIL;
	c->next = SCHED_NIL;
	c->granted = false;
	c->deficit = 0;
	lv->n_active--;
}

unsigned
dp_sched_dequeue(struct dp_sched *s, uint64_t now_ns, void **pkts, uint32_t *lens, unsigned n)
{
	unsigned out = 0;
	uint32_t v;

	for (v = 0; v < s->n_levels && out < n; v++) {
		struct level *lv = &s->levels[v];
		struct cls *c;
		struct leaf *l;

		while (out < n && level_pick(s, lv, now_ns, &c, &l)) {
			uint32_t k = leaf_pop(s, l);
			uint32_t len = s->nodes[k].len;

			pkts[out] = s->nodes[k].pkt;
			if (lens != NULL)
				lens[out] = len;
			out++;
			s->nodes[k].next = s->free_head;
			s->free_head = k;
			if (l->granted)
				l->deficit -= len;
			if (c->granted)
				c->deficit -= len;
			tb_charge(&c->cap, len);
			if (l->tenant != SCHED_NIL)
				tb_charge(&s->tenants[l->tenant], len);
			ctr_add(&l->c.deq_pkts, 1);
			ctr_add(&l->c.deq_bytes, len);
			ctr_add(&c->c.deq_pkts, 1);
			ctr_add(&c->c.deq_bytes, len);
			rounds_update(lv, c, l);
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

		while (out < n && lv->n_active != 0) {
			struct cls *c = &s->classes[lv->act_head];
			struct leaf *l = &s->leaves[c->act_head];
			uint32_t k = leaf_pop(s, l);

			pkts[out++] = s->nodes[k].pkt;
			s->nodes[k].next = s->free_head;
			s->free_head = k;
			rounds_update(lv, c, l);
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

	if (dl == NULL || dl->n >= dl->limit) {
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

		while (lv->n_active != 0) {
			struct cls *c = &src->classes[lv->act_head];
			struct leaf *l = &src->leaves[c->act_head];
			uint32_t to = leaf_map[c->act_head];
			struct leaf *dl = to < dst->n_leaves ? &dst->leaves[to] : NULL;
			uint32_t band = (uint32_t)__builtin_ctz(l->band_mask), k;

			if ((dl == NULL || dl->n >= dl->limit) && n_drop == max)
				return n_drop;
			k = leaf_pop(src, l);
			n_drop += move_one(dst, dl, src, k, band, &dropped[n_drop]);
			src->nodes[k].next = src->free_head;
			src->free_head = k;
			rounds_update(lv, c, l);
		}
	}
	return n_drop;
}
