/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Aggregation: a validated GRAD -> slot state machine -> kernels -> RESULT
 * fan-out. Runs on the lcore that owns the slot, so everything here is
 * lcore-private except max_round, which the HELLO path reads.
 *
 * Result copies are never payload copies: each is a 64-byte header mbuf
 * (Ethernet/IPv4/UDP/daitn for its worker, from a template prebuilt per
 * rank) chained to a zero-room mbuf attached to the set's accumulator as an
 * external buffer. The set holds one reference to the buffer and each copy
 * one more; the references of a whole fan-out are taken with one update.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_memcpy.h>
#include <rte_udp.h>

#include "gw_priv.h"

#define FANOUT_BATCH 64

void gw_kern_init(struct gw *gw)
{
	const struct kn_ops *ops = kn_ops_get();

	for (uint8_t t = DP_DTYPE_F32; t <= DP_DTYPE_F16; t++) {
		gw->kern[t].ops = ops;
		gw->kern[t].esize = (uint8_t)dp_proto_dtype_size(t);
	}
}

static inline void acc_load(const struct gw_job *job, void *acc, const void *src, unsigned n)
{
	switch (job->dtype) {
	case DP_DTYPE_BF16:
		job->k->ops->load_bf16(acc, src, n);
		break;
	case DP_DTYPE_F16:
		job->k->ops->load_f16(acc, src, n);
		break;
	default:
		memcpy(acc, src, (size_t)n * 4);   /* glibc picks AVX-512 at run time */
		break;
	}
}

static inline void acc_add(const struct gw_job *job, void *acc, const void *src, unsigned n)
{
	switch (job->dtype) {
	case DP_DTYPE_F32:
		job->k->ops->sum_f32(acc, src, n);
		break;
	case DP_DTYPE_I32:
		job->k->ops->sum_i32(acc, src, n);
		break;
	case DP_DTYPE_BF16:
		job->k->ops->sum_bf16(acc, src, n);
		break;
	default:
		job->k->ops->sum_f16(acc, src, n);
		break;
	}
}

/* Narrow a completed 16-bit accumulator in place (binary32 -> 16 bits,
 * round to nearest even); the result is then its first n * 2 bytes. */
static inline void acc_finish(const struct gw_job *job, void *acc, unsigned n)
{
	if (job->dtype == DP_DTYPE_BF16)
		job->k->ops->store_bf16(acc, acc, n);
	else if (job->dtype == DP_DTYPE_F16)
		job->k->ops->store_f16(acc, acc, n);
}

static void peer_build(struct gw_lcore *lc, const struct gw_job *job, struct gw_peer *p,
		       uint16_t rank, const struct rte_ether_hdr *eth, unsigned port)
{
	const struct gw_port *gp = &lc->gw->ports[port];
	struct rte_ether_hdr *te = (struct rte_ether_hdr *)p->tmpl;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(te + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	struct dp_proto_hdr rh = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_RESULT,
		.job = job->id, .rank = rank, .dtype = job->dtype,
	};

	te->dst_addr = eth->src_addr;
	te->src_addr = gp->mac;
	te->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->type_of_service = 0;
	ip->total_length = 0;
	ip->packet_id = 0;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = gp->ip_be;
	ip->dst_addr = job->workers[rank].ip_be;
	udp->src_port = rte_cpu_to_be_16((uint16_t)(lc->gw->udp_base + lc->shard));
	udp->dst_port = job->workers[rank].port_be;
	udp->dgram_len = 0;
	udp->dgram_cksum = 0;
	dp_proto_hdr_write(udp + 1, &rh);
	/* Sum of the header without total_length (which is 0 here): adding
	 * the length and folding gives the checksum of each copy. */
	p->ip_csum = rte_raw_cksum(ip, sizeof(*ip));
	p->port = (uint16_t)port;
	p->known = true;
}

/* Learn where rank's packets come from; the common case is one compare. */
static inline void peer_learn(struct gw_lcore *lc, const struct gw_job *job, struct gw_job_lc *jl,
			      uint16_t rank, const struct rte_ether_hdr *eth, unsigned port)
{
	struct gw_peer *p = &jl->peers[rank];

	if (likely(p->known && p->port == port &&
		   rte_is_same_ether_addr((const struct rte_ether_addr *)p->tmpl, &eth->src_addr)))
		return;
	peer_build(lc, job, p, rank, eth, port);
}

void gw_agg_peer_learn(struct gw_lcore *lc, const struct gw_job *job, struct gw_job_lc *jl,
		       uint16_t rank, const struct rte_ether_hdr *eth, unsigned port)
{
	peer_learn(lc, job, jl, rank, eth, port);
}

static inline uint16_t ip_csum_finish(uint32_t partial, uint16_t len_be)
{
	uint32_t sum = partial + len_be;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff ? (uint16_t)sum : (uint16_t)~sum;
}

/* Offset of the slot field in a frame: everything from there to the end of
 * the daitn header (slot, dtype, flags, count, offset, round) is per result. */
#define TAIL_OFF (DP_PROTO_L2_L4_SIZE + 8)
#define TAIL_SIZE (DP_PROTO_FRAME_HDR_SIZE - TAIL_OFF)

/*
 * Send the result held by set s (slot field `slot`) to every rank, or to
 * `only` alone (>= 0, a resend). Copies that cannot get mbufs are counted
 * and left to the workers' retransmissions.
 *
 * Mbufs come raw from the pools (refcnt 1, one segment, no next: what the
 * pools guarantee for freed mbufs), so only the fields TX reads are written.
 */
static void agg_send(struct gw_lcore *lc, const struct gw_job *job, struct gw_job_lc *jl,
		     const struct dp_slot_set *s, struct gw_buf *b, uint16_t slot, int only)
{
	struct rte_mbuf *hm[FANOUT_BATCH], *em[FANOUT_BATCH];
	uint8_t tail[TAIL_SIZE];
	uint32_t bytes = gw_job_payload_bytes(job, s->count);
	uint16_t hdr_size = GW_HDR_SIZE + (job->keyed ? DP_PROTO_TAG_SIZE : 0);
	uint16_t ip_len = (uint16_t)(hdr_size - RTE_ETHER_HDR_LEN + bytes);
	uint16_t ip_len_be = rte_cpu_to_be_16(ip_len);
	uint16_t udp_len_be = rte_cpu_to_be_16((uint16_t)(ip_len - sizeof(struct rte_ipv4_hdr)));
	unsigned n = only >= 0 ? 1 : job->n_workers;
	struct dp_proto_hdr rh = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_RESULT,
		.job = job->id, .slot = slot, .dtype = job->dtype,
		.flags = (uint8_t)(s->hint | (job->keyed ? DP_PROTO_FLAG_AUTH : 0) |
				   (job->partial ? DP_PROTO_FLAG_RANKS : 0)),
		.count = s->count, .offset = s->offset, .round = s->round,
	};
	uint8_t full[DP_PROTO_HDR_SIZE], tag[DP_PROTO_TAG_SIZE];

	dp_proto_hdr_write(full, &rh);
	memcpy(tail, full + 8, TAIL_SIZE);
	/* One tag for every copy: a RESULT's does not cover the rank. */
	if (job->keyed)
		dp_auth_tag_write(tag, dp_auth_tag(&job->key, atomic_load_explicit(&job->inst->salt,
						   memory_order_relaxed), full, b->data, bytes));
	for (unsigned first = 0; first < n; first += FANOUT_BATCH) {
		unsigned nb = RTE_MIN(n - first, (unsigned)FANOUT_BATCH), built = 0;

		if (unlikely(rte_mempool_generic_get(lc->hdr_pool, (void **)hm, nb,
						     lc->hdr_cache) != 0)) {
			gw_cnt_add(&lc->cnt.ev[GW_EV_FANOUT_NOBUF], nb);
			continue;
		}
		if (unlikely(rte_mempool_generic_get(lc->ext_pool, (void **)em, nb,
						     lc->ext_cache) != 0)) {
			rte_mempool_generic_put(lc->hdr_pool, (void **)hm, nb, lc->hdr_cache);
			gw_cnt_add(&lc->cnt.ev[GW_EV_FANOUT_NOBUF], nb);
			continue;
		}
		rte_mbuf_ext_refcnt_update(&b->shinfo, (int16_t)nb);
		for (unsigned j = 0; j < nb; j++) {
			uint16_t r = only >= 0 ? (uint16_t)only : (uint16_t)(first + j);
			const struct gw_peer *p = &jl->peers[r];
			struct rte_mbuf *h = hm[j], *e = em[j];
			uint8_t *f = (uint8_t *)h->buf_addr + RTE_PKTMBUF_HEADROOM;
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
			struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

			rte_mov64(f, p->tmpl);
			memcpy(f + TAIL_OFF, tail, TAIL_SIZE);
			if (job->keyed)
				memcpy(f + GW_HDR_SIZE, tag, sizeof(tag));
			ip->total_length = ip_len_be;
			ip->hdr_checksum = ip_csum_finish(p->ip_csum, ip_len_be);
			udp->dgram_len = udp_len_be;

			e->ol_flags = 0;
			rte_pktmbuf_attach_extbuf(e, b->data, b->iova, (uint16_t)job->buf_size,
						  &b->shinfo);
			e->data_len = (uint16_t)bytes;
			e->pkt_len = bytes;
			h->data_off = RTE_PKTMBUF_HEADROOM;
			h->data_len = hdr_size;
			h->pkt_len = hdr_size + bytes;
			h->nb_segs = 2;
			h->next = e;
			h->ol_flags = 0;
			h->tx_offload = 0;
			h->packet_type = 0;
			if (unlikely(!p->known)) {
				/* Cannot happen for a complete set (every rank sent
				 * to this lcore); never send to an unknown MAC. */
				rte_pktmbuf_free(h);
				gw_cnt_add(&lc->cnt.ev[GW_EV_FANOUT_NOBUF], 1);
				continue;
			}
			gw_tx_enqueue(lc, p->port, h);
			built++;
		}
		gw_cnt_add(&lc->cnt.ev[GW_EV_RESULTS_SENT], built);
	}
}

/* A buffer no set holds. Buffers released while TX still referenced them
 * are taken back once their count drops to the set's own reference. */
static struct gw_buf *buf_get(struct gw_job_lc *jl)
{
	if (jl->n_free == 0) {
		uint32_t keep = 0;

		for (uint32_t i = 0; i < jl->n_busy; i++) {
			struct gw_buf *b = jl->busy[i];

			if (rte_mbuf_ext_refcnt_read(&b->shinfo) == 1)
				jl->free_bufs[jl->n_free++] = b;
			else
				jl->busy[keep++] = b;
		}
		jl->n_busy = keep;
		if (jl->n_free == 0)
			return NULL;
	}
	return jl->free_bufs[--jl->n_free];
}

/* Remember the newest round a use completed with: a worker sends round r + 1
 * only after it has the results of round r (gw_pkt.c, round_ahead). */
static inline void agg_done(struct gw_job_lc *jl, uint32_t round)
{
	if (!atomic_load_explicit(&jl->done_any, memory_order_relaxed) ||
	    (int32_t)(round - atomic_load_explicit(&jl->done_round, memory_order_relaxed)) > 0) {
		atomic_store_explicit(&jl->done_round, round, memory_order_release);
		atomic_store_explicit(&jl->done_any, 1, memory_order_release);
	}
}

/* Remember the newest round a use started with, from which the HELLO path
 * places the next run's round_base (gw_hello.c). Stores only on change. */
static inline void agg_note(struct gw_job_lc *jl, uint32_t round)
{
	if (!atomic_load_explicit(&jl->seen_any, memory_order_relaxed) ||
	    dp_proto_tag_cmp_inline(round, 0, atomic_load_explicit(&jl->max_round,
								   memory_order_relaxed), 0) > 0) {
		atomic_store_explicit(&jl->max_round, round, memory_order_relaxed);
		atomic_store_explicit(&jl->seen_any, 1, memory_order_relaxed);
	}
}

/*
 * Deterministic jobs: the accumulator is the fold of the contributions in
 * ascending rank order (docs/protocol.md, section 5, "Deterministic jobs"), whatever order
 * they arrive in. A contribution whose rank is the set's cursor (aux, the
 * lowest rank not folded yet) is folded at once, and so are the held ones
 * that follow it without a gap; any other is held, zero-copy, until its
 * turn. The rank that completes a use is always the cursor's (every lower
 * rank has arrived, so all of them are folded), so a complete use holds
 * nothing.
 */
static inline struct rte_mbuf **held_of(const struct gw_job *job, const struct gw_job_lc *jl,
					uint32_t local, uint16_t slot)
{
	return &jl->held[((size_t)local * 2 + dp_proto_slot_set(slot)) * job->n_workers];
}

/* Free what an abandoned use of the set still held. */
static void held_drop(struct gw_lcore *lc, const struct gw_job *job, struct rte_mbuf **held)
{
	for (uint16_t r = 0; r < job->n_workers; r++)
		if (held[r] != NULL) {
			rte_pktmbuf_free(held[r]);
			held[r] = NULL;
			lc->held--;
		}
}

void gw_agg_held_run(struct gw_lcore *lc, const struct gw_job *job, struct gw_job_lc *jl,
		     uint64_t run)
{
	uint32_t id = gw_run_id(run) + 1;

	if (likely(jl->held_run == id))
		return;
	for (uint32_t i = 0; i < jl->n_local * 2; i++)
		held_drop(lc, job, &jl->held[(size_t)i * job->n_workers]);
	jl->held_run = id;
}

static inline void fold_one(const struct gw_job *job, struct dp_slot_set *s, void *acc,
			    const void *src, bool first)
{
	if (first)
		acc_load(job, acc, src, s->count);
	else
		acc_add(job, acc, src, s->count);
}

/* The lcore holds all the chunks it may (lcore-owned, any job). */
static inline bool hold_spent(const struct gw_lcore *lc)
{
	return lc->held - atomic_load_explicit(&lc->held_gone, memory_order_relaxed) >=
	       lc->held_max;
}

/* Take rank's contribution into s in rank order; false if it must be held
 * and the lcore's hold budget is spent (the caller cancels it). */
static bool fold_ordered(struct gw_lcore *lc, const struct gw_job *job, struct gw_job_lc *jl,
			 struct dp_slot_set *s, struct rte_mbuf **held, uint16_t rank,
			 const uint8_t *payload, struct rte_mbuf *m, bool *consumed)
{
	void *acc = ((struct gw_buf *)s->user)->data;

	if (rank != s->aux) {
		if (unlikely(hold_spent(lc)))
			return false;
		rte_pktmbuf_adj(m, (uint16_t)(payload - rte_pktmbuf_mtod(m, const uint8_t *)));
		held[rank] = m;
		lc->held++;
		gw_cnt_add(&jl->held_total, 1);
		*consumed = true;
		return true;
	}
	fold_one(job, s, acc, payload, s->aux == 0);
	s->aux++;
	while (s->aux < job->n_workers && held[s->aux] != NULL) {
		struct rte_mbuf *h = held[s->aux];

		held[s->aux] = NULL;
		fold_one(job, s, acc, rte_pktmbuf_mtod(h, const void *), false);
		rte_pktmbuf_free(h);
		lc->held--;
		s->aux++;
	}
	return true;
}

/* The contribution that completes s's use: never held (a full budget must
 * not keep a use from completing), folded with what is held, in rank order,
 * past any gaps (a quorum's absent ranks). */
static void fold_final(struct gw_lcore *lc, const struct gw_job *job, struct dp_slot_set *s,
		       struct rte_mbuf **held, uint16_t rank, const uint8_t *payload)
{
	void *acc = ((struct gw_buf *)s->user)->data;
	bool first = s->aux == 0;

	for (uint16_t r = s->aux; r < job->n_workers; r++) {
		struct rte_mbuf *h = held[r];

		if (r == rank) {
			fold_one(job, s, acc, payload, first);
		} else if (h != NULL) {
			held[r] = NULL;
			fold_one(job, s, acc, rte_pktmbuf_mtod(h, const void *), first);
			rte_pktmbuf_free(h);
			lc->held--;
		} else {
			continue;
		}
		first = false;
	}
	s->aux = job->n_workers;
}

/* A use that closed before every rank came (a partial job): fold what is
 * held past the gaps, in rank order. The first contribution folded is
 * loaded: with rank 0 absent nothing was folded yet. */
static void fold_rest(struct gw_lcore *lc, const struct gw_job *job, struct dp_slot_set *s,
		      struct rte_mbuf **held)
{
	void *acc = ((struct gw_buf *)s->user)->data;
	bool first = s->aux == 0;

	for (uint16_t r = s->aux; r < job->n_workers; r++) {
		struct rte_mbuf *h = held[r];

		if (h == NULL)
			continue;
		held[r] = NULL;
		fold_one(job, s, acc, rte_pktmbuf_mtod(h, const void *), first);
		first = false;
		rte_pktmbuf_free(h);
		lc->held--;
	}
	s->aux = job->n_workers;
}

/* A partial job's use that has waited its deadline closes now, with the
 * ranks it has, if they are enough (docs/protocol.md section 5). */
static inline bool deadline_close(struct gw_lcore *lc, const struct gw_job *job,
				  struct dp_slot_set *s)
{
	return job->deadline != 0 && s->state == DP_SLOT_ACTIVE &&
	       gw_now(lc->gw) - s->opened >= job->deadline && dp_slot_close(s, job->min_ranks);
}

/* Who the closed use left out: counted per rank; the trailer that says who
 * is in goes after the result. */
static void partial_finish(const struct gw_job *job, struct gw_job_lc *jl,
			   const struct dp_slot_set *s, uint8_t *result_end, bool by_deadline)
{
	dp_proto_ranks_write(result_end, job->n_workers, s->seen, s->bitmap);
	if (s->seen == job->n_workers)
		return;
	gw_cnt_add(by_deadline ? &jl->closed_deadline : &jl->closed_quorum, 1);
	for (uint16_t r = 0; r < job->n_workers; r++)
		if (!dp_slot_has_rank(s, r))
			gw_cnt_add(&jl->missing[r], 1);
}

enum dp_drop gw_agg_grad(struct gw_lcore *lc, const struct gw_job *job,
			 const struct dp_proto_hdr *h, uint32_t local, const uint8_t *payload,
			 struct rte_mbuf *m, unsigned port, bool *consumed)
{
	struct gw_job_lc *jl = job->inst->lc[lc->shard];
	struct dp_slot_set *s = dp_slot_set_get(&jl->slots, local, dp_proto_slot_set(h->slot));
	enum dp_slot_action a;
	bool by_deadline = false;
	struct gw_buf *b;
	unsigned ev;

	peer_learn(lc, job, jl, h->rank, rte_pktmbuf_mtod(m, const struct rte_ether_hdr *), port);
	/* A deterministic job's chunk that would start a new use and wait
	 * there, with no room to hold it: refused before it replaces the
	 * set's current use (whose result may still be asked for). */
	if (job->ordered && unlikely(hold_spent(lc)) && h->rank != 0 && jl->slots.quorum > 1 &&
	    (s->state == DP_SLOT_EMPTY ||
	     dp_proto_tag_cmp_inline(h->round, h->offset, s->round, s->offset) > 0))
		return DP_DROP_HOLD_FULL;
	a = dp_slot_contribute(&jl->slots, s, h->rank, h->round, h->offset, h->count, &ev);
	/* An abandoned use's held chunks go first, whatever happens next. */
	if (job->ordered && unlikely(ev & DP_SLOT_EV_ABANDONED))
		held_drop(lc, job, held_of(job, jl, local, h->slot));
	switch (a) {
	case DP_SLOT_LOAD:
	case DP_SLOT_LOAD_COMPLETE:
		b = s->user;
		if (unlikely(ev & DP_SLOT_EV_ABANDONED)) {
			gw_cnt_add(&jl->abandoned, 1);
			gw_cnt_add(&lc->cnt.ev[GW_EV_SLOTS_ABANDONED], 1);
		}
		if (b != NULL && unlikely(rte_mbuf_ext_refcnt_read(&b->shinfo) != 1)) {
			/* TX still sends the previous use's result. */
			jl->busy[jl->n_busy++] = b;
			s->user = b = NULL;
			gw_cnt_add(&lc->cnt.ev[GW_EV_BUF_BUSY], 1);
		}
		if (b == NULL) {
			b = buf_get(jl);
			if (unlikely(b == NULL)) {
				dp_slot_cancel(&jl->slots, s, h->rank);
				return DP_DROP_NO_BUFFER;
			}
			s->user = b;
		}
		/* Results leave in the TX band of the chunk's layer (P3-style):
		 * the first contribution's hint, as every rank sends the same. */
		s->hint = h->flags & DP_PROTO_FLAG_PRIO_MASK;
		agg_note(jl, h->round);
		if (job->deadline != 0)
			s->opened = gw_now(lc->gw);
		/* The fold cursor (ordered), or "the sum is up" (a tree leaf). */
		s->aux = 0;
		if (job->ordered)
			goto ordered;
		acc_load(job, b->data, payload, h->count);
		break;
	case DP_SLOT_ADD:
	case DP_SLOT_ADD_COMPLETE:
		b = s->user;
		if (job->ordered)
			goto ordered;
		acc_add(job, b->data, payload, h->count);
		break;
	case DP_SLOT_RESEND:
		if (job->up && s->aux != 0) {
			/* The sum is up and no result came down: the parent
			 * may have lost it (it answers a duplicate with its
			 * result). The rank hears that its chunk is counted. */
			gw_tree_up_send(lc, job, jl, s, ((struct gw_buf *)s->user)->data, h->slot,
					true);
			gw_reply_waiting(lc, job, m, h, s, port, consumed);
			return DP_DROP_UP_PENDING;
		}
		agg_send(lc, job, jl, s, s->user, h->slot, h->rank);
		return DP_DROP_RESULT_RESENT;
	case DP_SLOT_LATE:
		/* Closed without it (a partial job): never added; it gets the
		 * result, whose trailer says it is not in. */
		gw_cnt_add(&jl->late, 1);
		agg_send(lc, job, jl, s, s->user, h->slot, h->rank);
		return DP_DROP_LATE;
	case DP_SLOT_DUPLICATE:
		/* A retransmission is also when a deadline is looked at. */
		if (deadline_close(lc, job, s)) {
			b = s->user;
			by_deadline = true;
			goto complete;
		}
		/* A retransmission of a counted chunk: its rank waits for the
		 * others. Say so, and for whom, so that it does not take a
		 * live gateway for a dead one (docs/protocol.md, WAITING). */
		gw_reply_waiting(lc, job, m, h, s, port, consumed);
		return DP_DROP_DUPLICATE;
	case DP_SLOT_STALE:
		if (job->partial) {
			/* Its use closed without it and the set moved on: tell
			 * it where the job is (ERROR 6), never add it. */
			gw_cnt_add(&jl->late, 1);
			gw_reply_grad_error(lc, job, m, h, DP_ERR_ROUND_CLOSED, s->round, port,
					    consumed);
			return DP_DROP_LATE;
		}
		return DP_DROP_STALE;
	case DP_SLOT_COUNT_MISMATCH:
		return DP_DROP_COUNT_MISMATCH;
	default:
		return DP_DROP_RANK_INVALID;
	}
	goto counted;
ordered:
	if (a == DP_SLOT_LOAD_COMPLETE || a == DP_SLOT_ADD_COMPLETE) {
		fold_final(lc, job, s, held_of(job, jl, local, h->slot), h->rank, payload);
	} else if (unlikely(!fold_ordered(lc, job, jl, s, held_of(job, jl, local, h->slot),
					  h->rank, payload, m, consumed))) {
		dp_slot_cancel(&jl->slots, s, h->rank);
		/* The use still closes at its deadline, without this chunk. */
		if (!deadline_close(lc, job, s))
			return DP_DROP_HOLD_FULL;
		by_deadline = true;
		goto complete;
	}
counted:
	if (a == DP_SLOT_LOAD || a == DP_SLOT_ADD) {
		if (!deadline_close(lc, job, s))
			return DP_DROP_AGGREGATED;
		by_deadline = true;
	} else {
		gw_cnt_add(&jl->last[h->rank], 1);
	}
complete:
	/* Only a partial job's use closes with gaps (ranks never folded). */
	if (job->ordered && s->aux < job->n_workers)
		fold_rest(lc, job, s, held_of(job, jl, local, h->slot));
	acc_finish(job, b->data, s->count);
	if (job->up) {
		/* A tree leaf: the local sum is one contribution upstream; the
		 * use's result is what the parent sends down. */
		s->aux = 1;
		gw_tree_up_send(lc, job, jl, s, b->data, h->slot, false);
		return DP_DROP_COMPLETED;
	}
	if (job->partial)
		partial_finish(job, jl, s, b->data + (size_t)s->count * job->k->esize, by_deadline);
	agg_done(jl, h->round);
	agg_send(lc, job, jl, s, b, h->slot, -1);
	return DP_DROP_COMPLETED;
}

enum dp_drop gw_agg_result_down(struct gw_lcore *lc, const struct gw_job *job,
				const struct dp_proto_hdr *h, uint32_t local,
				const uint8_t *payload)
{
	struct gw_job_lc *jl = job->inst->lc[lc->shard];
	struct dp_slot_set *s = dp_slot_set_get(&jl->slots, local, dp_proto_slot_set(h->slot));
	struct gw_buf *b = s->user;

	if (s->state != DP_SLOT_COMPLETE || s->aux == 0 || s->round != h->round ||
	    s->offset != h->offset || s->count != h->count)
		return DP_DROP_TREE_RESULT_STALE;
	/* No copy of this use was sent yet, so nothing in TX reads b. */
	memcpy(b->data, payload, (size_t)h->count * job->k->esize);
	s->aux = 0;
	agg_done(jl, h->round);
	agg_send(lc, job, jl, s, b, h->slot, -1);
	return DP_DROP_TREE_RESULT;
}
