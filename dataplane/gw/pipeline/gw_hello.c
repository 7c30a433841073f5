/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HELLO -> HELLO_ACK, HELLO_WAIT or ERROR, answered in place in the received
 * mbuf (gw_reply.c turns it around).
 *
 * Runs (docs/protocol.md, section 6). A run is the set of one process per
 * rank, each named by the nonce in its HELLO's round field. HELLOs gather
 * in the job's join state (struct gw_join); while some rank is missing each
 * is answered with HELLO_WAIT, and the HELLO that completes the set starts
 * the run: a new round_base past every round the gateway holds, published
 * with the run bit in job->inst->run, after which every rank's HELLO gets
 * HELLO_ACK. A rank not heard from for JOIN_FRESH_MS while the run gathers
 * no longer counts as joined. A HELLO with another nonce from a rank of the
 * current run is a new process for that rank: the run ends at once (every
 * lcore then drops its GRADs and answers them with ERROR run_ended) and a
 * new one gathers.
 * Only shard 0's lcore runs this (HELLOs go to udp_port_base), so the join
 * state needs no lock; the run word is the one thing other lcores read.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <rte_ip.h>
#include <rte_random.h>
#include <rte_udp.h>

#include "cp_json.h"
#include "gw_cp.h"
#include "gw_priv.h"

/*
 * The next run's round_base: past the previous run's base and every round a
 * use of the job started with on any lcore, with one round to spare. A worker
 * of the old run sends a round only after the gateway completed the round
 * before it, so any of its GRADs still in flight holds at most the newest
 * round seen + 1 (or its base): all older than the new base, and dropped.
 * A child gateway of a tree keeps the rounds of its earlier runs in its
 * slots, which this gateway may have forgotten (a restart): the base is
 * also no older than the floor each joined child asked for (docs/protocol.md
 * section 12). False, with base 0, when nothing bounds it.
 */
static bool run_next_base(const struct gw *gw, const struct gw_job *job, uint64_t run,
			  uint32_t *base)
{
	const struct gw_job_inst *in = job->inst;
	uint32_t newest = gw_run_base(run);
	bool any = gw_run_id(run) != 0;

	for (unsigned k = 0; k < gw->n_lcores; k++) {
		const struct gw_job_lc *jl = in->lc[k];
		uint32_t r;

		if (!atomic_load_explicit(&jl->seen_any, memory_order_relaxed))
			continue;
		r = atomic_load_explicit(&jl->max_round, memory_order_relaxed);
		if (!any || dp_proto_tag_cmp(r, 0, newest, 0) > 0)
			newest = r;
		any = true;
	}
	*base = any ? newest + 2 : 0;
	for (uint16_t r = 0; r < job->n_workers; r++) {
		uint64_t f = in->join.floor[r];

		if (!(f & GW_JOIN_FLOOR))
			continue;
		if (!any || dp_proto_tag_cmp((uint32_t)f, 0, *base, 0) > 0)
			*base = (uint32_t)f;
		any = true;
	}
	return any;
}

/* A rank that has joined keeps asking (libdaitn resends HELLO every 50 ms
 * while it waits); one silent for this long gave up or died, and is no
 * longer counted as joined, so a run never starts with a dead process. */
#define JOIN_FRESH_MS 2000u
#define JOIN_SWEEP_MS 100u

/* Forget the joins not heard from within JOIN_FRESH_MS. */
static uint32_t join_sweep(const struct gw_job *job, uint64_t now, uint32_t n_in)
{
	struct gw_join *jn = &job->inst->join;
	uint64_t fresh = rte_get_tsc_hz() / 1000u * JOIN_FRESH_MS;

	for (uint16_t r = 0; r < job->n_workers; r++)
		if (jn->in[r] && now - jn->heard[r] > fresh) {
			jn->in[r] = 0;
			n_in--;
		}
	jn->swept = now;
	return n_in;
}

/* A fresh run's salt (docs/protocol.md, section 11): random, so that no
 * tagged GRAD or RESULT of another run, or of this gateway's earlier life,
 * is valid in this one. Once per run, never per packet. */
static uint64_t run_salt(void)
{
	uint64_t salt;

	if (getrandom(&salt, sizeof(salt), GRND_NONBLOCK) != (ssize_t)sizeof(salt))
		salt = rte_rdtsc() ^ rte_rand();
	return salt;
}

/* Keyed jobs: was nonce one of rank's earlier processes? */
static bool nonce_is_old(const struct gw_join *jn, uint16_t rank, uint32_t nonce)
{
	const uint32_t *old = &jn->old_nonce[(size_t)rank * GW_JOIN_OLD_NONCES];

	if (nonce == jn->nonce[rank])
		return false;
	for (unsigned i = 0; i < jn->n_old[rank]; i++)
		if (old[i] == nonce)
			return true;
	return false;
}

/* Keyed jobs: remember a process of rank that a newer one replaces. */
static void nonce_retire(struct gw_join *jn, uint16_t rank, uint32_t nonce)
{
	uint32_t *old = &jn->old_nonce[(size_t)rank * GW_JOIN_OLD_NONCES];

	if (jn->n_old[rank] == GW_JOIN_OLD_NONCES) {
		memmove(old, old + 1, (GW_JOIN_OLD_NONCES - 1) * sizeof(*old));
		jn->n_old[rank]--;
	}
	old[jn->n_old[rank]++] = nonce;
}

/* Add rank's process (nonce) to the job's run. Returns true with the run's
 * base when the run is on, false with *wait filled while ranks are missing. */
static bool hello_join(struct gw_lcore *lc, const struct gw_job *job, uint16_t rank,
		       uint32_t nonce, uint64_t floor, uint32_t *base,
		       struct dp_proto_join_wait *wait)
{
	const struct gw *gw = lc->gw;
	struct gw_job_inst *in = job->inst;
	struct gw_join *jn = &in->join;
	uint64_t run = atomic_load_explicit(&in->run, memory_order_relaxed);
	uint64_t now = gw_now(gw);
	uint32_t n_in = atomic_load_explicit(&jn->n_in, memory_order_relaxed), id, listed = 0;

	if (gw_run_on(run)) {
		if (jn->nonce[rank] == nonce) {
			*base = gw_run_base(run);       /* a retransmission: ACK again */
			return true;
		}
		/* A new process for rank: the run is over for every rank. */
		run &= ~GW_RUN_ON;
		atomic_store_explicit(&in->run, run, memory_order_release);
		memset(jn->in, 0, job->n_workers);
		n_in = 0;
		gw_cnt_add(&jn->runs_ended, 1);
		if (job->up)
			gw_tree_run_ended(job);
	}
	if (!jn->in[rank]) {
		jn->in[rank] = 1;
		n_in++;
	}
	if (job->keyed && jn->nonce[rank] != nonce && jn->nonce[rank] != 0)
		nonce_retire(jn, rank, jn->nonce[rank]);
	jn->nonce[rank] = nonce;
	jn->floor[rank] = floor;
	jn->heard[rank] = now;
	if (n_in == job->n_workers ||
	    now - jn->swept > rte_get_tsc_hz() / 1000u * JOIN_SWEEP_MS)
		n_in = join_sweep(job, now, n_in);
	atomic_store_explicit(&jn->n_in, n_in, memory_order_relaxed);
	if (n_in == job->n_workers) {
		bool bounded = run_next_base(gw, job, run, base);

		/* A tree leaf's run is its join to the parent's: it starts
		 * with the parent's round_base (no older than the floor it
		 * asks for), once the parent has ACKed (gw_tree.c). */
		if (job->up && !gw_tree_join(lc, job, bounded, *base, base))
			goto wait;
		id = gw_run_id(run) + 1 > 0x7fffffffu ? 1 : gw_run_id(run) + 1;
		if (job->keyed)
			atomic_store_explicit(&in->salt, run_salt(), memory_order_relaxed);
		atomic_store_explicit(&in->run, GW_RUN_ON | (uint64_t)id << 32 | *base,
				      memory_order_release);
		return true;
	}
wait:
	wait->n_workers = job->n_workers;
	wait->n_joined = (uint16_t)n_in;
	for (uint16_t r = 0; r < job->n_workers; r++)
		if (!jn->in[r] && listed < DP_PROTO_WAIT_LIST)
			wait->missing[listed++] = r;
	while (listed < DP_PROTO_WAIT_LIST)
		wait->missing[listed++] = DP_PROTO_RANK_NONE;
	return false;
}


/* The checks of a HELLO or LEAVE against the job (docs/protocol.md section 3):
 * DP_DROP_NONE, or the reason. */
static enum dp_drop join_check(const struct gw *gw, const struct gw_job *job,
			       const struct dp_proto_hdr *h, const struct rte_mbuf *m, unsigned port)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
	enum dp_drop fate;
	int32_t skew;

	if (job == NULL)
		return DP_DROP_JOB_UNKNOWN;
	if (h->rank >= job->n_workers)
		return DP_DROP_RANK_INVALID;
	if (job->workers[h->rank].ip_be != ip->src_addr ||
	    job->workers[h->rank].port_be != udp->src_port)
		return DP_DROP_SOURCE_NOT_ADMITTED;
	fate = gw_neigh_check(gw, job->workers[h->rank].neigh, &eth->src_addr, port);
	if (fate != DP_DROP_NONE)
		return fate;
	if (job->keyed || (h->flags & DP_PROTO_FLAG_AUTH)) {
		const uint8_t *dh = (const uint8_t *)(udp + 1);

		if (!job->keyed)
			return DP_DROP_AUTH_BAD;
		if (!(h->flags & DP_PROTO_FLAG_AUTH))
			return DP_DROP_AUTH_MISSING;
		if (!dp_auth_check(&job->key, 0, dh, dh + DP_PROTO_HDR_SIZE,
				   dh + DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE, DP_PROTO_HELLO_PAD))
			return DP_DROP_AUTH_BAD;
		/* Its offset field is the sender's wall clock (ms, low 32
		 * bits): a recorded HELLO is worthless once stale. */
		skew = (int32_t)(h->offset - (uint32_t)gw_realtime_ms(gw));
		if (skew > GW_HELLO_SKEW_MS || skew < -GW_HELLO_SKEW_MS)
			return DP_DROP_AUTH_REPLAY;
	}
	if (h->dtype != 0 && h->dtype != job->dtype)
		return DP_DROP_DTYPE_MISMATCH;
	return DP_DROP_NONE;
}

enum dp_drop gw_hello_leave(struct gw_lcore *lc, const struct gw_tables *t,
			    const struct rte_mbuf *m, const struct dp_proto_hdr *h, unsigned port)
{
	const struct gw_job *job = t != NULL ? gw_tables_job(t, h->job) : NULL;
	enum dp_drop fate = join_check(lc->gw, job, h, m, port);
	struct gw_join *jn;

	if (job == NULL)
		return fate;
	jn = &job->inst->join;
	if (fate == DP_DROP_NONE) {
		fate = DP_DROP_HELLO;
		/* Only a gathering run forgets a rank; a running one is left
		 * alone (a rank that is done must not fail a slower one). */
		if (!gw_run_on(atomic_load_explicit(&job->inst->run, memory_order_relaxed)) &&
		    jn->in[h->rank] && jn->nonce[h->rank] == h->round) {
			jn->in[h->rank] = 0;
			atomic_store_explicit(&jn->n_in, atomic_load_explicit(&jn->n_in,
					      memory_order_relaxed) - 1, memory_order_relaxed);
		}
	}
	gw_cnt_add(&job->inst->lc[lc->shard]->fate[fate], 1);
	return fate;
}

/* The text of a HELLO's refusal (fate is its reason). Names the sender's
 * own address only, never the rank's: an answer must not tell a stranger
 * whom to impersonate. */
static void refusal_text(char *text, size_t size, enum dp_drop fate, const struct gw_tables *t,
			 const struct gw_job *job, const struct dp_proto_hdr *h, uint32_t src_be,
			 uint16_t sport_be)
{
	char a1[16];

	switch (fate) {
	case DP_DROP_JOB_UNKNOWN:
		snprintf(text, size, "job %u is not in policy version %llu", h->job,
			 t != NULL ? (unsigned long long)t->version : 0ull);
		break;
	case DP_DROP_RANK_INVALID:
		snprintf(text, size, "job %u has ranks 0..%u, not %u", h->job,
			 job->n_workers - 1u, h->rank);
		break;
	case DP_DROP_SOURCE_NOT_ADMITTED:
		cp_json_ipv4_format(rte_be_to_cpu_32(src_be), a1, sizeof(a1));
		snprintf(text, size, "rank %u is not admitted from %s:%u", h->rank, a1,
			 rte_be_to_cpu_16(sport_be));
		break;
	default:
		snprintf(text, size, "job %u is %s, not %s", h->job,
			 dp_proto_dtype_name(job->dtype), dp_proto_dtype_name(h->dtype));
		break;
	}
}

enum dp_drop gw_hello(struct gw_lcore *lc, const struct gw_tables *t, struct rte_mbuf *m,
		      const struct dp_proto_hdr *h, unsigned port, bool *consumed)
{
	struct gw *gw = lc->gw;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	const struct gw_job *job = t != NULL ? gw_tables_job(t, h->job) : NULL, *signer;
	struct dp_proto_hdr rh;
	char text[64];
	uint16_t code = 0, payload;
	enum dp_drop fate;

	/* The answer is built in this mbuf; it must be one segment with room
	 * for the largest answer (a tagged ERROR). */
	if (unlikely(m->nb_segs != 1 || m->buf_len < m->data_off + DP_PROTO_FRAME_HDR_SIZE +
						     DP_PROTO_TAG_SIZE + sizeof(struct dp_proto_error)))
		return DP_DROP_NO_BUFFER;
	fate = join_check(gw, job, h, m, port);
	/* Answers to a keyed job's authentic HELLO are signed; a replayed
	 * HELLO of one of the rank's earlier processes is not answered. */
	signer = job != NULL && job->keyed ? job : NULL;
	if (fate == DP_DROP_NONE && signer != NULL && nonce_is_old(&job->inst->join, h->rank,
								     h->round))
		fate = DP_DROP_AUTH_REPLAY;
	switch (fate) {
	case DP_DROP_JOB_UNKNOWN:
		code = DP_ERR_UNKNOWN_JOB;
		break;
	case DP_DROP_RANK_INVALID:
	case DP_DROP_SOURCE_NOT_ADMITTED:
		code = DP_ERR_NOT_ADMITTED;
		break;
	case DP_DROP_DTYPE_MISMATCH:
		code = DP_ERR_BAD_PARAMS;
		break;
	case DP_DROP_SRC_MAC_MISMATCH:
	case DP_DROP_NEIGH_UNRESOLVED:
	case DP_DROP_AUTH_MISSING:
	case DP_DROP_AUTH_BAD:
	case DP_DROP_AUTH_REPLAY:
		/* Not from the address the rank's IP is bound to (or not
		 * bound yet), or not authentic: no answer, which would go to
		 * a stranger or tell a forger what it got wrong. */
		gw_cnt_add(&job->inst->lc[lc->shard]->fate[fate], 1);
		return fate;
	default:
		/* Joining is work done for the job's tenant: it pays for it. */
		fate = gw_cp_admit_grad(lc, t, job, h->rank, m->pkt_len) ? DP_DROP_HELLO
									 : DP_DROP_RATE_LIMITED;
		break;
	}
	if (job != NULL)
		gw_cnt_add(&job->inst->lc[lc->shard]->fate[fate], 1);
	if (fate == DP_DROP_RATE_LIMITED)
		return fate;

	if (code == 0) {
		struct dp_proto_join_wait wait;
		uint32_t base, floor;
		/* A child gateway's floor for the run's base (gw_tree.c). */
		uint64_t fl = dp_proto_hello_floor_read((const uint8_t *)(udp + 1) +
							dp_proto_payload_off(h), &floor) ?
			      GW_JOIN_FLOOR | floor : 0;

		gw_agg_peer_learn(lc, job, job->inst->lc[lc->shard], h->rank, eth, port);
		if (hello_join(lc, job, h->rank, h->round, fl, &base, &wait)) {
			struct dp_proto_job_info ji = {
				.n_workers = job->n_workers, .chunk_size = job->chunk_size,
				.n_slots = (uint16_t)RTE_MIN(job->n_slots, (uint32_t)UINT16_MAX),
				.udp_port_base = gw->udp_base, .n_shards = (uint8_t)gw->n_lcores,
				.dtype = job->dtype, .frac_bits = job->frac_bits,
				.flags = (uint8_t)((signer != NULL &&
						    job->key.cover == DP_AUTH_COVER_HEADER ?
						    DP_PROTO_JOB_AUTH_HEADER_ONLY : 0) |
						   (job->partial ? DP_PROTO_JOB_PARTIAL : 0) |
						   (job->inst->cfg.fedavg ? DP_PROTO_JOB_FEDAVG : 0)),
				.policy_version = (uint32_t)t->version, .round_base = base,
			};

			rh = gw_reply_hdr(h, DP_MSG_HELLO_ACK, job->dtype);
			dp_proto_job_info_write(gw_reply_payload(m, signer), &ji);
			payload = sizeof(ji);
			if (signer != NULL) {
				/* The run's salt: its GRADs' and RESULTs' context. */
				dp_auth_tag_write(gw_reply_payload(m, signer) + sizeof(ji),
						  atomic_load_explicit(&job->inst->salt,
								       memory_order_relaxed));
				payload += DP_PROTO_SALT_SIZE;
			}
		} else {
			rh = gw_reply_hdr(h, DP_MSG_HELLO_WAIT, job->dtype);
			dp_proto_join_wait_write(gw_reply_payload(m, signer), &wait);
			payload = sizeof(wait);
		}
	} else {
		/* Refused before anything was authenticated: never signed, and
		 * within the reply limits before any text is written (a flood
		 * of refused HELLOs costs no formatting). */
		if (!gw_cp_reply_ok(lc, ip->src_addr, udp->src_port))
			return fate;
		refusal_text(text, sizeof(text), fate, t, job, h, ip->src_addr, udp->src_port);
		signer = NULL;
		rh = gw_reply_hdr(h, DP_MSG_ERROR, 0);
		dp_proto_error_write(gw_reply_payload(m, NULL), code, text);
		gw_reply_send(lc, m, port, &rh, sizeof(struct dp_proto_error), NULL, 0);
		*consumed = true;
		return fate;
	}
	/* Answers are rate-limited (an unkeyed job's requests are not
	 * authenticated at all). */
	if (!gw_cp_reply_ok(lc, ip->src_addr, udp->src_port))
		return fate;
	gw_reply_send(lc, m, port, &rh, payload, signer, 0);
	*consumed = true;
	return fate;
}
