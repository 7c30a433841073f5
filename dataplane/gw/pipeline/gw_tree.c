/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Aggregation trees (docs/protocol.md section 12): a leaf gateway is a
 * worker of the same job on its parent. It joins the parent's run when its
 * own workers have all joined, sends each use's sum up as one contribution,
 * and fans the parent's RESULT out to its workers. There is no timer:
 * the workers' retransmissions drive everything, as on one gateway. A
 * retransmission for a use whose sum is up sends the sum up again (the
 * parent answers a duplicate with its stored result), and a worker's HELLO
 * while the parent has not ACKed sends the HELLO up again.
 *
 * Frames to the parent leave from this gateway's udp_port_base, the port
 * the parent's policy admits its rank from; its answers come back there
 * (shard 0), and its RESULTs are steered to the shard that owns their slot
 * (gw_pkt.c).
 */
#include <stdio.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_random.h>
#include <rte_udp.h>

#include "gw_priv.h"

/* HELLOs go up at most this often (every local rank's HELLO asks). */
#define UP_HELLO_GAP_MS 10u

/* A frame to the parent with the daitn header h and n payload bytes from
 * src (zeros when NULL), queued for TX. False when it cannot be built:
 * no mbuf, or the parent's address is not resolved (asked for). */
static bool up_frame_send(struct gw_lcore *lc, const struct gw_job *job,
			  const struct dp_proto_hdr *h, const void *src, uint16_t n,
			  uint16_t dport)
{
	struct gw *gw = lc->gw;
	struct gw_neigh *ne = &gw->neigh[job->up_addr.neigh];
	uint64_t w = atomic_load_explicit(&ne->word, memory_order_relaxed);
	const struct gw_port *gp;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	struct rte_mbuf *m;
	unsigned port;
	uint8_t *f;

	if (unlikely(!(w & GW_MAC_VALID))) {
		if (!atomic_load_explicit(&ne->want, memory_order_relaxed))
			atomic_store_explicit(&ne->want, 1, memory_order_relaxed);
		return false;
	}
	port = gw_mac_port(w);
	gp = &gw->ports[port];
	m = rte_pktmbuf_alloc(lc->rx_pool);
	if (unlikely(m == NULL))
		return false;
	f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_PROTO_FRAME_HDR_SIZE + n));
	if (unlikely(f == NULL)) {
		rte_pktmbuf_free(m);
		return false;
	}
	eth = (struct rte_ether_hdr *)f;
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	udp = (struct rte_udp_hdr *)(ip + 1);
	memcpy(&eth->dst_addr, &w, RTE_ETHER_ADDR_LEN);
	eth->src_addr = gp->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(DP_PROTO_FRAME_HDR_SIZE -
						       RTE_ETHER_HDR_LEN + n));
	ip->packet_id = 0;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = gp->ip_be;
	ip->dst_addr = job->up_addr.ip_be;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(gw->udp_base);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + DP_PROTO_HDR_SIZE + n));
	udp->dgram_cksum = 0;
	dp_proto_hdr_write(udp + 1, h);
	if (src != NULL)
		memcpy(f + DP_PROTO_FRAME_HDR_SIZE, src, n);
	else
		memset(f + DP_PROTO_FRAME_HDR_SIZE, 0, n);
	gw_tx_enqueue(lc, port, m);
	return true;
}

void gw_tree_up_send(struct gw_lcore *lc, const struct gw_job *job, struct gw_job_lc *jl,
		     const struct dp_slot_set *s, const void *data, uint16_t slot, bool again)
{
	const struct gw_up *up = &job->inst->up;
	unsigned shards = atomic_load_explicit(&up->p_shards, memory_order_relaxed);
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_GRAD,
		.job = job->id, .rank = job->up_rank, .slot = slot, .dtype = job->dtype,
		.flags = s->hint, .count = s->count, .offset = s->offset, .round = s->round,
	};
	uint16_t dport;

	/* The run is on, so the parent has ACKed and told its shards. */
	if (unlikely(shards == 0)) {
		gw_cnt_add(&jl->up_lost, 1);
		return;
	}
	/* The parent's shard of this slot, as a worker of it would send. */
	dport = (uint16_t)(atomic_load_explicit(&up->p_port, memory_order_relaxed) +
			   dp_proto_slot_index(slot) % shards);
	if (unlikely(!up_frame_send(lc, job, &h, data, (uint16_t)(s->count * job->k->esize),
				    dport))) {
		gw_cnt_add(&jl->up_lost, 1);
		return;
	}
	gw_cnt_add(again ? &jl->up_resent : &jl->up_sent, 1);
}

void gw_tree_run_ended(const struct gw_job *job)
{
	struct gw_up *up = &job->inst->up;
	uint32_t nonce;

	do
		nonce = (uint32_t)rte_rand();
	while (nonce == 0 || nonce == up->nonce);
	up->nonce = nonce;
	up->acked = false;
}

bool gw_tree_join(struct gw_lcore *lc, const struct gw_job *job, bool floored, uint32_t floor,
		  uint32_t *base)
{
	uint8_t pad[DP_PROTO_HELLO_PAD] = { 0 };
	struct gw_up *up = &job->inst->up;
	uint64_t now = gw_now(lc->gw);
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_HELLO,
		.job = job->id, .rank = job->up_rank, .dtype = job->dtype, .round = up->nonce,
	};

	if (up->acked) {
		*base = up->base;
		return true;
	}
	if (up->asked != 0 && now - up->asked < rte_get_tsc_hz() / 1000u * UP_HELLO_GAP_MS)
		return false;
	if (floored)
		dp_proto_hello_floor_write(pad, floor);
	if (up_frame_send(lc, job, &h, pad, DP_PROTO_HELLO_PAD,
			  rte_be_to_cpu_16(job->up_addr.port_be))) {
		up->floored = floored;
		up->floor = floor;
		up->asked = now;
		gw_cnt_add(&up->hellos, 1);
	}
	return false;
}

/* The parent's job against this one: what a contribution of ours must fit
 * there. NULL, or why not. */
static const char *parent_mismatch(const struct gw_job *job, const struct dp_proto_job_info *ji)
{
	if (ji->dtype != job->dtype)
		return "its dtype differs";
	if (ji->chunk_size != job->chunk_size)
		return "its chunk_size differs";
	if (ji->n_slots < RTE_MIN(job->n_slots, (uint32_t)UINT16_MAX))
		return "it has fewer slots";
	if (ji->frac_bits != job->frac_bits)
		return "its frac_bits differ";
	if (ji->flags & (DP_PROTO_JOB_PARTIAL | DP_PROTO_JOB_AUTH_HEADER_ONLY))
		return "it is partial or keyed";
	if (((ji->flags & DP_PROTO_JOB_FEDAVG) != 0) != job->fedavg)
		return "its mode differs";
	if (ji->n_shards == 0)
		return "it has no data lcores";
	return NULL;
}

static void refused_note(struct gw_up *up, uint16_t code, const char *text)
{
	up->refused_code = code;
	snprintf(up->refused, sizeof(up->refused), "%s", text);
	gw_cnt_add(&up->refusals, 1);
}

/* The parent's answer to our HELLO (h echoes its nonce in round). */
static void join_answer(const struct gw_job *job, const struct dp_proto_hdr *h,
			const uint8_t *payload)
{
	struct gw_up *up = &job->inst->up;
	struct dp_proto_job_info ji;
	struct dp_proto_join_wait wait;
	const char *why;
	char text[64];

	if (h->round != up->nonce)
		return;                 /* an answer to an earlier process of ours */
	if (h->type == DP_MSG_HELLO_WAIT) {
		dp_proto_join_wait_read(payload, &wait);
		up->wait_joined = wait.n_joined;
		up->wait_workers = wait.n_workers;
		gw_cnt_add(&up->waits, 1);
		return;
	}
	dp_proto_job_info_read(payload, &ji);
	why = parent_mismatch(job, &ji);
	/* A run that starts before the rounds this gateway's slots hold
	 * would meet them there and get their results back as its own: no
	 * parent that takes floors does that, and none other is trusted. */
	if (why == NULL && up->floored && dp_proto_tag_cmp(ji.round_base, 0, up->floor, 0) < 0)
		why = "round_base behind our rounds";
	if (why != NULL) {
		snprintf(text, sizeof(text), "parent's job %u does not fit: %s", job->id, why);
		refused_note(up, DP_ERR_BAD_PARAMS, text);
		return;
	}
	atomic_store_explicit(&up->p_port, ji.udp_port_base, memory_order_relaxed);
	atomic_store_explicit(&up->p_shards, ji.n_shards, memory_order_relaxed);
	up->base = ji.round_base;
	up->acked = true;
	up->refused_code = 0;
	gw_cnt_add(&up->acks, 1);
}

/*
 * An ERROR from the parent. Code 5 answers one of our GRADs: the parent's
 * run is over, so ours is: the workers hear so from their next GRAD and
 * join again, and so does this gateway, as a new process. Only an ERROR
 * for a round of our current run counts (a late one for an earlier run must
 * not end it). Any other code is a refusal, kept for telemetry; the
 * workers wait, and their timeout names the gateway that does not answer.
 */
static void error_answer(const struct gw_job *job, const struct dp_proto_hdr *h,
			 const uint8_t *payload, size_t n)
{
	struct gw_job_inst *in = job->inst;
	uint64_t run = atomic_load_explicit(&in->run, memory_order_relaxed);
	struct dp_proto_error err;

	dp_proto_error_read(payload, n, &err);
	if (err.code != DP_ERR_RUN_ENDED) {
		refused_note(&in->up, err.code, err.text);
		return;
	}
	if (!gw_run_on(run) || h->round - gw_run_base(run) >= GW_RUN_WINDOW)
		return;
	atomic_store_explicit(&in->run, run & ~GW_RUN_ON, memory_order_release);
	memset(in->join.in, 0, job->n_workers);
	atomic_store_explicit(&in->join.n_in, 0, memory_order_relaxed);
	gw_cnt_add(&in->up.runs_ended, 1);
	gw_tree_run_ended(job);
}

enum dp_drop gw_tree_rx(struct gw_lcore *lc, const struct gw_tables *t, const struct rte_mbuf *m,
			const struct dp_proto_hdr *h, unsigned port, uint32_t *local_out)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
	const struct gw_job *job = t != NULL ? gw_tables_job(t, h->job) : NULL;
	const uint8_t *payload = (const uint8_t *)(udp + 1) + dp_proto_payload_off(h);
	size_t n = rte_be_to_cpu_16(udp->dgram_len) - sizeof(*udp) - dp_proto_payload_off(h);
	struct gw_job_lc *jl;
	enum dp_drop fate;
	unsigned shards;
	uint32_t idx, local;

	if (job == NULL)
		return DP_DROP_JOB_UNKNOWN;
	jl = job->inst->lc[lc->shard];
	if (!job->up) {
		fate = DP_DROP_UNEXPECTED_MSG;
		goto job_fate;
	}
	/* From the parent: its address, one of its shard ports, to our rank. */
	shards = atomic_load_explicit(&job->inst->up.p_shards, memory_order_relaxed);
	if (ip->src_addr != job->up_addr.ip_be || h->rank != job->up_rank ||
	    (unsigned)(uint16_t)(rte_be_to_cpu_16(udp->src_port) -
				 rte_be_to_cpu_16(job->up_addr.port_be)) >= RTE_MAX(shards, 1u)) {
		fate = DP_DROP_SOURCE_NOT_ADMITTED;
		goto job_fate;
	}
	fate = gw_neigh_check(lc->gw, job->up_addr.neigh, &eth->src_addr, port);
	if (fate != DP_DROP_NONE)
		goto job_fate;
	if (h->flags & DP_PROTO_FLAG_AUTH) {
		fate = DP_DROP_AUTH_BAD;        /* a tree's jobs are never keyed */
		goto job_fate;
	}
	if (h->type == DP_MSG_RESULT) {
		if (h->dtype != job->dtype || (h->flags & DP_PROTO_FLAG_RANKS)) {
			fate = DP_DROP_DTYPE_MISMATCH;
			goto job_fate;
		}
		if ((uint32_t)h->count * job->k->esize > job->chunk_size) {
			fate = DP_DROP_CHUNK_TOO_LARGE;
			goto job_fate;
		}
		idx = dp_proto_slot_index(h->slot);
		if (idx >= job->n_slots) {
			fate = DP_DROP_SLOT_OUT_OF_RANGE;
			goto job_fate;
		}
		local = rte_reciprocal_divide(idx, lc->gw->shard_recip);
		if (idx - local * lc->gw->n_lcores != lc->shard) {
			fate = DP_DROP_SLOT_WRONG_SHARD;
			goto job_fate;
		}
		*local_out = local;
		return DP_DROP_NONE;
	}
	/* The answers to HELLOs and GRADs come to udp_port_base. */
	if (lc->shard != 0) {
		fate = DP_DROP_UDP_WRONG_PORT;
		goto job_fate;
	}
	fate = DP_DROP_TREE_ANSWER;
	if (h->type == DP_MSG_ERROR)
		error_answer(job, h, payload, n);
	else if (h->type != DP_MSG_WAITING)
		join_answer(job, h, payload);
job_fate:
	gw_cnt_add(&jl->fate[fate], 1);
	return fate;
}
