/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replica choice and session affinity (the data-path half of dp_route).
 *
 * Why a per-lcore affinity cache plus load-aware weighted round robin rather
 * than (weighted) rendezvous hashing, which needs no state at all:
 *  - rendezvous hashing cannot look at load, and it sends a session back to
 *    its old replica when that replica recovers, which loses whatever the
 *    session built up on the replica it failed over to; the issue asks for
 *    stickiness "unless a replica goes down or the policy moves it";
 *  - its weight shares are only statistical (binomial error over sessions),
 *    while smooth weighted round robin hits them exactly at equal load.
 * The price is memory (32 bytes per cached (session, stage)), eviction when
 * the cache is full (counted), and the steering rule in dp_route.h.
 *
 * The cache is set-associative: 4 entries (128 bytes, two cache lines) per
 * bucket, least recently used replaced first. An entry names its replica by
 * table index plus the table generation it was valid for, and also by
 * address, so after a reload an unchanged placement is found again by address
 * and a moved one is re-picked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_route_priv.h"

#define AFF_WAYS 4u
#define AFF_DEFAULT (1u << 16)
#define HALF_LIFE_DEFAULT_NS 100000000ull

struct aff_entry {
	uint32_t session;
	uint32_t reply_ip;
	uint16_t model;
	uint8_t stage;
	uint8_t used;
	uint32_t gen;           /* table generation that replica refers to */
	uint32_t replica;       /* index into that table's replicas */
	uint32_t rep_ip;        /* the replica's address: survives reloads */
	uint16_t rep_port;
	uint16_t reserved;
	uint32_t last;          /* last use, now_ns >> 20 (~1 ms), wraps */
};

_Static_assert(sizeof(struct aff_entry) == 32, "affinity entry size");

struct dp_route_lcore {
	struct dp_route_stats stats __attribute__((aligned(64)));
	unsigned lcore;
	unsigned half_life_shift;       /* epoch = now_ns >> shift */
	uint32_t bucket_mask;
	struct aff_entry *aff;  /* [(bucket_mask + 1) * AFF_WAYS] */
};

/* Single writer: a relaxed load and store is enough, and readers on other
 * threads see whole values. */
static inline void
stat_inc(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

struct dp_route_lcore *
dp_route_lcore_create(const struct dp_route_lcore_conf *conf)
{
	struct dp_route_lcore *lc;
	uint32_t n = AFF_DEFAULT, n_buckets;
	uint64_t hl;
	size_t size;

	if (conf == NULL || conf->lcore >= DP_ROUTE_LCORES_MAX ||
	    (conf->affinity_entries != 0 && conf->affinity_entries < AFF_WAYS) ||
	    conf->affinity_entries > (1u << 28)) {
		errno = EINVAL;
		return NULL;
	}
	if (conf->affinity_entries != 0)
		for (n = AFF_WAYS; n < conf->affinity_entries; n <<= 1)
			;
	lc = aligned_alloc(64, sizeof(*lc));
	if (lc == NULL)
		goto fail_nomem;
	memset(lc, 0, sizeof(*lc));
	n_buckets = n / AFF_WAYS;
	size = (size_t)n * sizeof(struct aff_entry);
	lc->aff = aligned_alloc(64, size);
	if (lc->aff == NULL)
		goto fail_lcore;
	memset(lc->aff, 0, size);
	lc->bucket_mask = n_buckets - 1;
	lc->lcore = conf->lcore;
	/* A power of two makes the epoch a shift, not a 64-bit division. */
	hl = conf->load_half_life_ns ? conf->load_half_life_ns : HALF_LIFE_DEFAULT_NS;
	while ((2ull << lc->half_life_shift) <= hl && lc->half_life_shift < 62)
		lc->half_life_shift++;
	return lc;

fail_lcore:
	free(lc);
fail_nomem:
	errno = ENOMEM;
	return NULL;
}

void
dp_route_lcore_free(struct dp_route_lcore *lc)
{
	if (lc == NULL)
		return;
	free(lc->aff);
	free(lc);
}

void
dp_route_stats_get(const struct dp_route_lcore *lc, struct dp_route_stats *out)
{
	const uint64_t *src = (const uint64_t *)&lc->stats;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

const char *
dp_route_verdict_name(enum dp_route_verdict v)
{
	static const char *const names[] = {
		[DP_ROUTE_FORWARD] = "forward",
		[DP_ROUTE_REPLY] = "reply",
		[DP_ROUTE_UNKNOWN_MODEL] = "unknown_model",
		[DP_ROUTE_BAD_STAGE] = "bad_stage",
		[DP_ROUTE_NOT_ADMITTED] = "not_admitted",
		[DP_ROUTE_BAD_REPLY] = "bad_reply",
		[DP_ROUTE_NO_REPLICA] = "no_replica",
	};

	if ((unsigned)v >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[v];
}

/* Outstanding count of node after lazy decay to the current epoch. */
static inline struct dp_route_load *
load_at(struct dp_route_pick *pk, uint32_t node, uint32_t epoch)
{
	struct dp_route_load *l = &pk->load[node];
	uint32_t age = epoch - l->epoch;

	if (age != 0) {
		l->out = age >= 32 ? 0 : l->out >> age;
		l->epoch = epoch;
	}
	return l;
}

/*
 * Lowest outstanding / weight among live replicas (nginx's weighted
 * least_conn), compared by cross multiplication (both factors < 2^32, so the
 * products fit in 64 bits); ties go to the highest SWRR credit. Every live replica earns its weight in
 * credit and the winner pays the live total, as in nginx's smooth weighted
 * round robin; with equal load that alone decides and the picks follow the
 * weights exactly. Credits are clamped to +-weight_sum so a replica passed
 * over for being loaded does not bank an unbounded burst for later; the
 * clamp never binds in the pure round-robin case.
 */
static uint32_t
replica_pick(struct dp_route_pick *pk, const struct dp_route_table *t,
	     const struct dp_route_stage *st, const struct dp_route_live *live, uint64_t now_ns,
	     uint32_t epoch)
{
	const int64_t bound = st->weight_sum;
	uint32_t i, best = DP_ROUTE_NONE, best_w = 0;
	uint64_t best_load = 0;
	int64_t total = 0;

	for (i = st->first; i < st->first + st->n_replicas; i++) {
		const struct dp_route_replica *rp = &t->replicas[i];
		uint64_t load;

		if (!dp_route_live_up(live, rp->node, now_ns))
			continue;
		pk->cur[i] += rp->weight;
		if (pk->cur[i] > bound)
			pk->cur[i] = bound;
		total += rp->weight;
		load = rp->node < t->n_nodes ? load_at(pk, rp->node, epoch)->out : 0;
		if (best != DP_ROUTE_NONE) {
			uint64_t lhs = load * best_w, rhs = best_load * rp->weight;

			if (lhs > rhs || (lhs == rhs && pk->cur[i] <= pk->cur[best]))
				continue;
		}
		best = i;
		best_w = rp->weight;
		best_load = load;
	}
	if (best != DP_ROUTE_NONE) {
		pk->cur[best] -= total;
		if (pk->cur[best] < -bound)
			pk->cur[best] = -bound;
	}
	return best;
}

static inline uint64_t
aff_hash(uint16_t model, uint8_t stage, uint32_t session, uint32_t reply_ip)
{
	uint64_t h = ((uint64_t)model << 40 | (uint64_t)stage << 32 | session) ^
		     ((uint64_t)reply_ip * 0x9e3779b97f4a7c15ull);

	/* murmur3's 64-bit finaliser: every key bit reaches the bucket bits. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* The entry for the key, or NULL with *victim set to the slot a new entry
 * should take (a free one, else the least recently used). */
static struct aff_entry *
aff_find(struct dp_route_lcore *lc, const struct dp_route_msg *m, uint32_t reply_ip,
	 struct aff_entry **victim)
{
	struct aff_entry *b = &lc->aff[(aff_hash(m->model, m->stage, m->session, reply_ip) &
					lc->bucket_mask) * AFF_WAYS];
	struct aff_entry *v = NULL;
	unsigned i;

	for (i = 0; i < AFF_WAYS; i++) {
		struct aff_entry *e = &b[i];

		if (!e->used) {
			if (v == NULL || v->used)
				v = e;
			continue;
		}
		if (e->session == m->session && e->reply_ip == reply_ip &&
		    e->model == m->model && e->stage == m->stage)
			return e;
		/* Ages compare modulo 2^32 so the ~49-day wrap of last is harmless. */
		if (v == NULL || (v->used && (int32_t)(e->last - v->last) < 0))
			v = e;
	}
	*victim = v;
	return NULL;
}

/* Index of the replica with this address in st, or DP_ROUTE_NONE. */
static uint32_t
stage_find_addr(const struct dp_route_table *t, const struct dp_route_stage *st,
		uint32_t ip, uint16_t port)
{
	uint32_t i;

	for (i = st->first; i < st->first + st->n_replicas; i++)
		if (t->replicas[i].ip == ip && t->replicas[i].port == port)
			return i;
	return DP_ROUTE_NONE;
}

/* The replica for this session at this stage: the cached one if it is still
 * placed and up, else a fresh pick that replaces the cache entry. */
static uint32_t
session_replica(struct dp_route_lcore *lc, const struct dp_route_table *t,
		const struct dp_route_stage *st, const struct dp_route_live *live,
		uint64_t now_ns, uint32_t epoch, const struct dp_route_msg *m, uint32_t reply_ip)
{
	uint32_t now = (uint32_t)(now_ns >> 20);
	struct aff_entry *e, *victim = NULL;
	uint32_t r;

	e = aff_find(lc, m, reply_ip, &victim);
	if (e != NULL) {
		r = e->gen == t->gen ? e->replica : stage_find_addr(t, st, e->rep_ip, e->rep_port);
		if (r == DP_ROUTE_NONE) {
			stat_inc(&lc->stats.moved);
		} else if (dp_route_live_up(live, t->replicas[r].node, now_ns)) {
			e->gen = t->gen;
			e->replica = r;
			e->last = now;
			stat_inc(&lc->stats.affinity_hits);
			return r;
		} else {
			stat_inc(&lc->stats.failovers);
		}
	}
	r = replica_pick(t->pick[lc->lcore], t, st, live, now_ns, epoch);
	if (r == DP_ROUTE_NONE)
		return r;
	if (e == NULL) {
		stat_inc(&lc->stats.new_sessions);
		e = victim;
		if (e->used)
			stat_inc(&lc->stats.evictions);
		e->session = m->session;
		e->reply_ip = reply_ip;
		e->model = m->model;
		e->stage = m->stage;
		e->used = 1;
	}
	e->gen = t->gen;
	e->replica = r;
	e->rep_ip = t->replicas[r].ip;
	e->rep_port = t->replicas[r].port;
	e->last = now;
	return r;
}

static inline void
dest_none(struct dp_route_dest *out)
{
	out->ip = 0;
	out->port = 0;
	out->node = DP_ROUTE_NONE;
	out->src_node = DP_ROUTE_NONE;
	out->replica = DP_ROUTE_NONE;
}

enum dp_route_verdict
dp_route_resolve(struct dp_route_lcore *lc, const struct dp_route_table *t,
		 const struct dp_route_live *live, uint64_t now_ns,
		 const struct dp_route_msg *m, struct dp_route_dest *out)
{
	struct dp_route_pick *pk = t->pick[lc->lcore];
	const struct dp_route_model *md;
	const struct dp_route_stage *st;
	uint32_t epoch = (uint32_t)(now_ns >> lc->half_life_shift);
	uint32_t src_node, r;

	dest_none(out);
	/* Stage 0 comes from the requester itself: the source is the reply
	 * address. Later stages carry it in the header. */
	out->reply_ip = m->stage == 0 ? m->src_ip : m->reply_ip;
	out->reply_port = m->stage == 0 ? m->src_port : m->reply_port;
	out->model = md = dp_route_model_find(t, m->model);
	if (md == NULL) {
		stat_inc(&lc->stats.unknown_model);
		return DP_ROUTE_UNKNOWN_MODEL;
	}
	if (m->stage > md->n_stages) {
		stat_inc(&lc->stats.bad_stage);
		return DP_ROUTE_BAD_STAGE;
	}
	if (m->stage == 0) {
		src_node = dp_route_src_find(t, md->first_req, md->n_req, m->src_ip, 0);
	} else {
		st = &t->stages[md->first_stage + m->stage - 1];
		src_node = dp_route_src_find(t, st->first_src, st->n_srcs, m->src_ip,
					     m->src_port);
	}
	if (src_node == DP_ROUTE_NONE) {
		stat_inc(&lc->stats.not_admitted);
		return DP_ROUTE_NOT_ADMITTED;
	}
	out->src_node = src_node;
	if (m->stage != 0) {
		/* The stage node finished one message we sent it. */
		if (src_node < t->n_nodes) {
			struct dp_route_load *l = load_at(pk, src_node, epoch);

			l->out -= l->out > 0;
		}
		if (dp_route_src_find(t, md->first_req, md->n_req, m->reply_ip, 0) ==
		    DP_ROUTE_NONE) {
			stat_inc(&lc->stats.bad_reply);
			return DP_ROUTE_BAD_REPLY;
		}
	}
	if (m->stage == md->n_stages) {
		out->ip = md->reply_to_requester ? out->reply_ip : md->reply_ip;
		out->port = md->reply_to_requester ? out->reply_port : md->reply_port;
		stat_inc(&lc->stats.replied);
		return DP_ROUTE_REPLY;
	}
	st = &t->stages[md->first_stage + m->stage];
	r = session_replica(lc, t, st, live, now_ns, epoch, m, out->reply_ip);
	if (r == DP_ROUTE_NONE) {
		stat_inc(&lc->stats.no_replica);
		return DP_ROUTE_NO_REPLICA;
	}
	out->ip = t->replicas[r].ip;
	out->port = t->replicas[r].port;
	out->node = t->replicas[r].node;
	out->replica = r;
	if (out->node < t->n_nodes) {
		struct dp_route_load *l = load_at(pk, out->node, epoch);

		l->out += l->out < UINT32_MAX;
	}
	stat_inc(&lc->stats.forwarded);
	return DP_ROUTE_FORWARD;
}
