/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_tree: the fixture's tree leaf (job TU_JOB_LEAF, bfloat16; its
 * parent at TU_PARENT_IP:TU_PARENT_PORT, where this gateway is rank
 * TU_LEAF_RANK; docs/protocol.md section 12) against a parent the tests
 * play. A use completed by the local ranks sends exactly one GRAD up, the
 * local sum rounded to bfloat16, and waits; only the parent's RESULT (from
 * its address, MAC and shard ports, for this rank and this use) goes down
 * to every local rank. The leaf's run is its join to the parent's run, and
 * the parent's end of run ends it. A root starts its run past the floors
 * its children ask for.
 *
 * Each leaf test starts from a renewed leaf (tu_leaf_renew): no run, a new
 * nonce, empty slots. The suite runs last: it moves job 2's run.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_arp.h>

#include "gw_priv.h"
#include "gw_tu.h"
#include "kn_sum.h"

#define NW TU_LEAF_WORKERS
#define ELEMS 512               /* 1 KiB chunks of bfloat16 */
#define P_SHARDS 3              /* the parent's data lcores, as its ACK says */

static unsigned version = 600;
static uint32_t nonce_next = 0x7ee00000u;

static const struct gw_job *leaf(void)
{
	return gw_tables_job(tu.gw->tables, TU_JOB_LEAF);
}

/* The leaf's fate d as counted for the job. */
static uint64_t job_fate(enum dp_drop d)
{
	struct gw_stats s;

	CU_ASSERT_EQUAL(gw_job_stats_read(tu.gw, TU_JOB_LEAF, &s), 0);
	return s.fate[d];
}

/* The leaf's partials: sent up, sent again, not sent (all shards). */
struct up_cnt {
	uint64_t sent, resent, lost;
};

static void up_cnt(struct up_cnt *c)
{
	const struct gw_job_inst *in = leaf()->inst;

	memset(c, 0, sizeof(*c));
	for (unsigned k = 0; k < in->n_lc; k++) {
		c->sent += gw_cnt_read(&in->lc[k]->up_sent);
		c->resent += gw_cnt_read(&in->lc[k]->up_resent);
		c->lost += gw_cnt_read(&in->lc[k]->up_lost);
	}
}

/* A fresh leaf (no run, a new nonce, empty slots), its parent pinned. */
static void renew(void)
{
	tu_parent_pin = true;
	CU_ASSERT_EQUAL_FATAL(tu_leaf_renew(version++), 0);
}

/* A renewed leaf whose run started with the parent's round_base `base`. */
static void leaf_up(uint32_t base)
{
	struct dp_proto_job_info ji;

	renew();
	tu_parent_job_info(&ji, P_SHARDS, base);
	CU_ASSERT_EQUAL_FATAL(tu_leaf_join(nonce_next, &ji), base);
	nonce_next += 16;
	CU_ASSERT_TRUE_FATAL(gw_run_on(atomic_load(&leaf()->inst->run)));
}

/* Chunks of NW ranks whose sum in arrival order `order`, widened to
 * binary32 and rounded once, is want (not exact in bfloat16). */
static void inputs(uint16_t in[NW][ELEMS], uint16_t want[ELEMS], const unsigned order[NW],
		   unsigned seed)
{
	for (unsigned e = 0; e < ELEMS; e++) {
		float acc = 0;

		for (unsigned w = 0; w < NW; w++)
			in[w][e] = kn_f32_to_bf16((float)rand_r(&seed) / (float)RAND_MAX * 8.0f - 4.0f);
		for (unsigned i = 0; i < NW; i++)
			acc = i == 0 ? kn_bf16_to_f32(in[order[i]][e])
				     : acc + kn_bf16_to_f32(in[order[i]][e]);
		want[e] = kn_f32_to_bf16(acc);
	}
}

/* One GRAD of the leaf from rank w, with priority bits prio. */
static void grad(uint16_t w, uint16_t index, unsigned set, uint32_t round, const uint16_t *in,
		 uint8_t prio)
{
	struct tu_pkt p;

	tu_pkt_daitn(&p, DP_MSG_GRAD, TU_JOB_LEAF, w, dp_proto_slot_make(index, set),
		     DP_DTYPE_BF16, ELEMS, 0, round, in, ELEMS * sizeof(uint16_t));
	p.h.flags = prio;
	tu_inject(index % TU_SHARDS, tu_build(&p));
}

/* Every local rank's chunk of one use, in `order`: what the gateway sent
 * before the last one must be nothing; returns how many frames it sent
 * after it (in tu_out). */
static unsigned contribute(uint16_t index, unsigned set, uint32_t round,
			   const uint16_t in[NW][ELEMS], const unsigned order[NW], uint8_t prio)
{
	for (unsigned i = 0; i < NW; i++) {
		grad((uint16_t)order[i], index, set, round, in[order[i]], prio);
		tu_poll();
		if (i < NW - 1)
			CU_ASSERT_EQUAL(tu_collect(), 0);
	}
	return tu_collect();
}

/* o is the leaf's sum of use (slot, round, offset 0) going up: a GRAD of
 * its rank on the parent, to the parent's shard of the slot, from
 * udp_port_base, leaving from the slot's shard, payload want. */
static void expect_grad_up(const struct tu_out *o, uint16_t slot, uint32_t round,
			   const uint16_t *want, uint8_t prio)
{
	uint16_t index = dp_proto_slot_index(slot);

	CU_ASSERT_EQUAL_FATAL(o->check, DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(o->h.type, DP_MSG_GRAD);
	CU_ASSERT_EQUAL(o->h.job, TU_JOB_LEAF);
	CU_ASSERT_EQUAL(o->h.rank, TU_LEAF_RANK);
	CU_ASSERT_EQUAL(o->h.slot, slot);
	CU_ASSERT_EQUAL(o->h.dtype, DP_DTYPE_BF16);
	CU_ASSERT_EQUAL(o->h.flags, prio);
	CU_ASSERT_EQUAL(o->h.count, ELEMS);
	CU_ASSERT_EQUAL(o->h.offset, 0);
	CU_ASSERT_EQUAL(o->h.round, round);
	CU_ASSERT(rte_is_same_ether_addr(&o->eth.dst_addr, &tu_parent_mac));
	CU_ASSERT(rte_is_same_ether_addr(&o->eth.src_addr, &tu.gw_mac));
	CU_ASSERT_EQUAL(o->src_ip, TU_GW_IP);
	CU_ASSERT_EQUAL(o->dst_ip, TU_PARENT_IP);
	CU_ASSERT_TRUE(o->ip_csum_ok);
	CU_ASSERT_EQUAL(o->sport, TU_UDP_BASE);
	CU_ASSERT_EQUAL(o->dport, TU_PARENT_PORT + index % P_SHARDS);
	CU_ASSERT_EQUAL(o->queue, index % TU_SHARDS);
	CU_ASSERT_EQUAL_FATAL(o->payload_size, ELEMS * sizeof(uint16_t));
	CU_ASSERT(memcmp(o->payload, want, ELEMS * sizeof(uint16_t)) == 0);
}

/* tu_out[0..n) are one RESULT of the use to every local rank, payload want. */
static void expect_results_down(unsigned n, uint16_t slot, uint32_t round, const uint16_t *want)
{
	uint16_t index = dp_proto_slot_index(slot);
	unsigned seen[NW] = { 0 };

	CU_ASSERT_EQUAL_FATAL(n, NW);
	for (unsigned i = 0; i < n; i++) {
		const struct tu_out *o = &tu_out[i];
		uint16_t r = o->h.rank;

		CU_ASSERT_EQUAL_FATAL(o->check, DP_PROTO_CHECK_OK);
		CU_ASSERT_EQUAL(o->h.type, DP_MSG_RESULT);
		CU_ASSERT_EQUAL(o->h.job, TU_JOB_LEAF);
		CU_ASSERT_EQUAL(o->h.slot, slot);
		CU_ASSERT_EQUAL(o->h.dtype, DP_DTYPE_BF16);
		CU_ASSERT_EQUAL(o->h.round, round);
		CU_ASSERT_EQUAL(o->h.offset, 0);
		CU_ASSERT_EQUAL(o->h.count, ELEMS);
		CU_ASSERT_FATAL(r < NW);
		seen[r]++;
		CU_ASSERT_EQUAL(o->dst_ip, TU_WORKER_IP(r));
		CU_ASSERT_EQUAL(o->dport, TU_WORKER_PORT(TU_JOB_LEAF));
		CU_ASSERT_EQUAL(o->eth.dst_addr.addr_bytes[5], (uint8_t)(r + 1));
		CU_ASSERT_EQUAL(o->src_ip, TU_GW_IP);
		CU_ASSERT_EQUAL(o->sport, TU_UDP_BASE + index % TU_SHARDS);
		CU_ASSERT_EQUAL(o->queue, index % TU_SHARDS);
		CU_ASSERT_TRUE(o->ip_csum_ok);
		CU_ASSERT_EQUAL_FATAL(o->payload_size, ELEMS * sizeof(uint16_t));
		CU_ASSERT(memcmp(o->payload, want, ELEMS * sizeof(uint16_t)) == 0);
	}
	for (unsigned r = 0; r < NW; r++)
		CU_ASSERT_EQUAL(seen[r], 1);
}

/* The parent's RESULT of use (slot, round, offset 0, ELEMS), payload pay,
 * from its shard port of the slot, to udp_port_base (shard 0's queue). */
static struct tu_pkt parent_result(uint16_t slot, uint32_t round, const uint16_t *pay)
{
	struct tu_pkt p;

	tu_pkt_parent(&p, DP_MSG_RESULT, slot, DP_DTYPE_BF16, ELEMS, 0, round, pay,
		      ELEMS * sizeof(uint16_t));
	p.sport = (uint16_t)(TU_PARENT_PORT + dp_proto_slot_index(slot) % P_SHARDS);
	return p;
}

/* Send p on queue 0 and poll: its fate must be `want` (counted once, for
 * the gateway and for the leaf's job); returns how many frames went out. */
static unsigned send_expect(const struct tu_pkt *p, enum dp_drop want)
{
	uint64_t j0 = job_fate(want);
	struct gw_stats before;

	tu_snap(&before);
	tu_inject(0, tu_build(p));
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, want), 1);
	CU_ASSERT_EQUAL(job_fate(want) - j0, 1);
	if (tu_fate_delta(&before, want) != 1)
		fprintf(stderr, "\n    expected fate %s\n", dp_drop_name(want));
	return tu_collect();
}

/* Rank's HELLO to job (nonce, padding pad), 10 ms after the last (the
 * gateway's reply rate for one source; the leaf's gap between HELLOs up).
 * Returns how many frames went out. */
static unsigned hello(uint16_t job, uint16_t rank, uint32_t nonce, const uint8_t *pad)
{
	struct tu_pkt p;

	tu_pkt_daitn(&p, DP_MSG_HELLO, job, rank, 0, 0, 0, 0, nonce, pad, DP_PROTO_HELLO_PAD);
	p.dport = TU_UDP_BASE;
	tu_clock_advance_ms(10);
	tu_inject(0, tu_build(&p));
	tu_poll();
	return tu_collect();
}

/* The frame of tu_out[0..n) of this type to ip, or NULL (and none twice). */
static const struct tu_out *out_find(unsigned n, uint8_t type, uint32_t ip)
{
	const struct tu_out *found = NULL;

	for (unsigned i = 0; i < n; i++)
		if (tu_out[i].check == DP_PROTO_CHECK_OK && tu_out[i].h.type == type &&
		    tu_out[i].dst_ip == ip) {
			CU_ASSERT_PTR_NULL(found);
			found = &tu_out[i];
		}
	return found;
}

/* Whether the last HELLO expect_hello_up() found carried a floor. */
static bool hello_up_floored;

/* The HELLO that went up (among n frames): to the parent's udp_port_base
 * from ours, of our rank there. Returns its nonce, *floor the floor in its
 * padding (hello_up_floored says whether there was one; a leaf that holds
 * no rounds asks for none: its padding is zeros). */
static uint32_t expect_hello_up(unsigned n, uint32_t *floor)
{
	const struct tu_out *o = out_find(n, DP_MSG_HELLO, TU_PARENT_IP);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(o->h.job, TU_JOB_LEAF);
	CU_ASSERT_EQUAL(o->h.rank, TU_LEAF_RANK);
	CU_ASSERT_EQUAL(o->h.dtype, DP_DTYPE_BF16);
	CU_ASSERT(rte_is_same_ether_addr(&o->eth.dst_addr, &tu_parent_mac));
	CU_ASSERT_EQUAL(o->src_ip, TU_GW_IP);
	CU_ASSERT_EQUAL(o->sport, TU_UDP_BASE);
	CU_ASSERT_EQUAL(o->dport, TU_PARENT_PORT);
	CU_ASSERT_TRUE(o->ip_csum_ok);
	CU_ASSERT_EQUAL_FATAL(o->payload_size, DP_PROTO_HELLO_PAD);
	hello_up_floored = dp_proto_hello_floor_read(o->payload, floor);
	if (!hello_up_floored) {
		*floor = 0;
		for (unsigned i = 0; i < DP_PROTO_HELLO_PAD; i++)
			CU_ASSERT_EQUAL(o->payload[i], 0);
	}
	CU_ASSERT_NOT_EQUAL(o->h.round, 0);
	return o->h.round;
}

/* The answer to a worker (among n frames) is a HELLO_WAIT of n_joined. */
static void expect_hello_wait(unsigned n, uint16_t rank, uint16_t n_joined)
{
	const struct tu_out *o = out_find(n, DP_MSG_HELLO_WAIT, TU_WORKER_IP(rank));
	struct dp_proto_join_wait w;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	dp_proto_join_wait_read(o->payload, &w);
	CU_ASSERT_EQUAL(w.n_workers, NW);
	CU_ASSERT_EQUAL(w.n_joined, n_joined);
	if (n_joined == NW)
		for (unsigned i = 0; i < DP_PROTO_WAIT_LIST; i++)
			CU_ASSERT_EQUAL(w.missing[i], DP_PROTO_RANK_NONE);
}

/* The answer to a worker (among n frames) is a HELLO_ACK: its round_base. */
static uint32_t expect_hello_ack(unsigned n, uint16_t rank, struct dp_proto_job_info *ji)
{
	const struct tu_out *o = out_find(n, DP_MSG_HELLO_ACK, TU_WORKER_IP(rank));

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	dp_proto_job_info_read(o->payload, ji);
	return ji->round_base;
}

/* Every local rank joins (nonces nonce + rank): the last one's answer and
 * the HELLO up are among the frames returned. */
static unsigned join_all(uint32_t nonce)
{
	unsigned n = 0;

	for (uint16_t r = 0; r < NW; r++)
		n = hello(TU_JOB_LEAF, r, nonce + r, tu_hello_pad);
	return n;
}

/* The parent's HELLO_ACK (round: the nonce it answers) and ERROR (the
 * first `size` bytes of its payload): taken as answers, nothing sent. */
static unsigned parent_ack(uint32_t nonce, const struct dp_proto_job_info *ji)
{
	uint8_t info[sizeof(*ji)];
	struct tu_pkt p;

	dp_proto_job_info_write(info, ji);
	tu_pkt_parent(&p, DP_MSG_HELLO_ACK, 0, DP_DTYPE_BF16, 0, 0, nonce, info, sizeof(info));
	return send_expect(&p, DP_DROP_TREE_ANSWER);
}

static unsigned parent_error(uint32_t round, uint16_t code, size_t size)
{
	uint8_t err[sizeof(struct dp_proto_error)];
	struct tu_pkt p;

	dp_proto_error_write(err, code, code == DP_ERR_RUN_ENDED ? "" : "job 20: no");
	tu_pkt_parent(&p, DP_MSG_ERROR, 0, 0, 0, 0, round, err, size);
	return send_expect(&p, DP_DROP_TREE_ANSWER);
}

/* Negative cases first: answers and RESULTs to a job with no parent, or
 * to no job, are not taken. */
static void test_parent_messages_to_a_job_without_parent_are_unexpected(void)
{
	static uint16_t pay[ELEMS];
	struct dp_proto_job_info ji;
	uint8_t info[sizeof(ji)];
	struct gw_stats before;
	struct tu_pkt p;

	tu_snap(&before);
	tu_pkt_daitn(&p, DP_MSG_RESULT, 3, 0, 0, DP_DTYPE_BF16, ELEMS, 0, 0, pay, sizeof(pay));
	tu_inject(0, tu_build(&p));
	tu_parent_job_info(&ji, P_SHARDS, 0);
	dp_proto_job_info_write(info, &ji);
	tu_pkt_parent(&p, DP_MSG_HELLO_ACK, 0, DP_DTYPE_BF16, 0, 0, 1, info, sizeof(info));
	p.h.job = 42;
	tu_inject(0, tu_build(&p));
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_UNEXPECTED_MSG), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_JOB_UNKNOWN), 1);
	CU_ASSERT_EQUAL(tu_collect(), 0);
}

/*
 * RESULTs that are not the parent's answer for this use: from another
 * address, MAC or port, for another rank or use, or malformed for the job.
 * Each is dropped under its fate, nothing goes to the workers, and the use
 * still completes with the genuine RESULT.
 */
static void test_spoofed_results_are_dropped_and_the_use_still_completes(void)
{
	static const unsigned order[NW] = { 0, 1, 2, 3 };
	static uint16_t in[NW][ELEMS], want[ELEMS], pay[ELEMS + 1];
	const uint32_t base = 3000;
	const uint16_t slot = dp_proto_slot_make(5, 0);
	const struct dp_slot_set *s;
	struct tu_pkt p;
	unsigned n;

	leaf_up(base);
	inputs(in, want, order, 11);
	for (unsigned e = 0; e <= ELEMS; e++)
		pay[e] = kn_f32_to_bf16((float)e);
	n = contribute(5, 0, base, in, order, 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	expect_grad_up(&tu_out[0], slot, base, want, 0);

	p = parent_result(slot, base, pay);
	p.src_ip = 0x0a090302u;                      /* another address */
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_SOURCE_NOT_ADMITTED), 0);
	tu_pkt_daitn(&p, DP_MSG_RESULT, TU_JOB_LEAF, 0, slot, DP_DTYPE_BF16, ELEMS, 0, base,
		     pay, ELEMS * sizeof(uint16_t));    /* a local worker, as itself */
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_SOURCE_NOT_ADMITTED), 0);
	p = parent_result(slot, base, pay);
	p.src_mac.addr_bytes[5] ^= 0x40;             /* the parent's IP, another MAC */
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_SRC_MAC_MISMATCH), 0);
	p = parent_result(slot, base, pay);
	p.sport = TU_PARENT_PORT - 1;                /* below the parent's ports */
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_SOURCE_NOT_ADMITTED), 0);
	p.sport = TU_PARENT_PORT + P_SHARDS;         /* past them */
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_SOURCE_NOT_ADMITTED), 0);
	p = parent_result(slot, base, pay);
	p.h.rank = TU_LEAF_RANK + 1;                 /* another child's */
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_SOURCE_NOT_ADMITTED), 0);
	p.h.rank = 0;
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_SOURCE_NOT_ADMITTED), 0);
	/* From the parent, but for no use that waits. */
	p = parent_result(slot, base + 1, pay);
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_TREE_RESULT_STALE), 0);
	p = parent_result(slot, base - 1, pay);
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_TREE_RESULT_STALE), 0);
	p = parent_result(slot, base, pay);
	p.h.offset = ELEMS;
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_TREE_RESULT_STALE), 0);
	p = parent_result(slot, base, pay);
	p.h.count = ELEMS - 1;
	p.payload_size = (ELEMS - 1) * sizeof(uint16_t);
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_TREE_RESULT_STALE), 0);
	p = parent_result(dp_proto_slot_make(5, 1), base, pay);   /* the other set */
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_TREE_RESULT_STALE), 0);
	/* Not the job's shape. */
	p = parent_result(slot, base, pay);
	p.h.dtype = DP_DTYPE_F16;
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_DTYPE_MISMATCH), 0);
	p = parent_result(slot, base, pay);
	p.h.count = ELEMS + 1;
	p.payload_size = (ELEMS + 1) * sizeof(uint16_t);
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_CHUNK_TOO_LARGE), 0);
	p = parent_result(dp_proto_slot_make((uint16_t)leaf()->n_slots, 0), base, pay);
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_SLOT_OUT_OF_RANGE), 0);
	/* Only what reaches udp_port_base is steered to its slot's shard:
	 * slot 4's RESULT to shard 1's port stays there, and is not its. */
	p = parent_result(dp_proto_slot_make(4, 0), base, pay);
	p.dport = TU_UDP_BASE + 1;
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_SLOT_WRONG_SHARD), 0);
	{
		static uint8_t tagged[DP_PROTO_TAG_SIZE + ELEMS * sizeof(uint16_t)];

		p = parent_result(slot, base, pay);
		p.h.flags = DP_PROTO_FLAG_AUTH;
		p.payload = tagged;
		p.payload_size = sizeof(tagged);
		CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_AUTH_BAD), 0);
	}

	/* The use still waits; the parent's own RESULT completes it. */
	s = dp_slot_set_get(&leaf()->inst->lc[1]->slots, 5 / TU_SHARDS, 0);
	CU_ASSERT_EQUAL(s->state, DP_SLOT_COMPLETE);
	CU_ASSERT_EQUAL(s->aux, 1);
	p = parent_result(slot, base, pay);
	expect_results_down(send_expect(&p, DP_DROP_TREE_RESULT), slot, base, pay);
}

/* A use all local ranks completed goes up as exactly one GRAD: the sum in
 * arrival order rounded once to bfloat16, with the use's tag and priority,
 * to the parent's shard port of the slot; no RESULT goes to the workers. */
static void test_local_completion_sends_one_grad_up(void)
{
	static const unsigned order[NW] = { 2, 0, 3, 1 };
	static uint16_t in[NW][ELEMS], want[ELEMS];
	const uint32_t base = 4000;
	struct up_cnt c0, c1;
	struct gw_stats before;
	uint64_t completed;

	leaf_up(base);
	completed = job_fate(DP_DROP_COMPLETED);
	up_cnt(&c0);
	tu_snap(&before);
	/* Index 4: shard 0, the parent's shard 1; index 5: shard 1 and 2. */
	inputs(in, want, order, 21);
	CU_ASSERT_EQUAL_FATAL(contribute(4, 1, base, in, order, 0x3), 1);
	expect_grad_up(&tu_out[0], dp_proto_slot_make(4, 1), base, want, 0x3);
	inputs(in, want, order, 22);
	CU_ASSERT_EQUAL_FATAL(contribute(5, 0, base, in, order, 0), 1);
	expect_grad_up(&tu_out[0], dp_proto_slot_make(5, 0), base, want, 0);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 2 * (NW - 1));
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_COMPLETED), 2);
	CU_ASSERT_EQUAL(job_fate(DP_DROP_COMPLETED) - completed, 2);
	CU_ASSERT_EQUAL(tu_ev_delta(&before, GW_EV_RESULTS_SENT), 0);
	up_cnt(&c1);
	CU_ASSERT_EQUAL(c1.sent - c0.sent, 2);
	CU_ASSERT_EQUAL(c1.resent - c0.resent, 0);
	CU_ASSERT_EQUAL(c1.lost - c0.lost, 0);
}

/* The parent's RESULT (not the local sum) goes to every local rank, from
 * the shard that owns the slot, whichever of the parent's ports it came
 * from and whichever queue took it; a second copy goes nowhere; a worker
 * that lost it gets the parent's result again. */
static void test_parent_result_goes_down_to_every_local_rank(void)
{
	static const unsigned order[NW] = { 3, 2, 1, 0 };
	static uint16_t in[NW][ELEMS], want[ELEMS], pay[ELEMS];
	const uint32_t base = 5000;
	const uint16_t slot = dp_proto_slot_make(3, 0);
	struct gw_stats before;
	struct tu_pkt p;
	unsigned n;

	leaf_up(base);
	inputs(in, want, order, 31);
	for (unsigned e = 0; e < ELEMS; e++)
		pay[e] = kn_f32_to_bf16(100.0f + (float)e);
	CU_ASSERT_EQUAL_FATAL(contribute(3, 0, base, in, order, 0), 1);
	CU_ASSERT(memcmp(pay, want, sizeof(pay)) != 0);

	tu_snap(&before);
	p = parent_result(slot, base, pay);
	p.sport = TU_PARENT_PORT + 2;        /* any of its shard ports */
	n = send_expect(&p, DP_DROP_TREE_RESULT);
	expect_results_down(n, slot, base, pay);
	CU_ASSERT_EQUAL(tu_ev_delta(&before, GW_EV_RESULTS_SENT), NW);
	CU_ASSERT_EQUAL(tu_ev_delta(&before, GW_EV_HANDOFF_IN), 1);   /* to slot 3's shard */

	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_TREE_RESULT_STALE), 0);

	tu_snap(&before);
	grad(1, 3, 0, base, in[1], 0);
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RESULT_RESENT), 1);
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].h.type, DP_MSG_RESULT);
	CU_ASSERT_EQUAL(tu_out[0].dst_ip, TU_WORKER_IP(1));
	CU_ASSERT(memcmp(tu_out[0].payload, pay, sizeof(pay)) == 0);
}

/* While the sum is up, a worker's retransmission sends it up again (the
 * parent may have lost it) and is answered WAITING: every rank counted,
 * nobody listed. The parent's WAITING changes nothing. */
static void test_retransmission_while_up_resends_the_sum(void)
{
	static const unsigned order[NW] = { 1, 3, 0, 2 };
	static uint16_t in[NW][ELEMS], want[ELEMS], pay[ELEMS];
	const uint32_t base = 6000;
	const uint16_t slot = dp_proto_slot_make(6, 1);
	struct up_cnt c0, c1;
	struct gw_stats before;
	struct dp_proto_join_wait w;
	const struct tu_out *o;
	struct tu_pkt p;
	unsigned n;

	leaf_up(base);
	inputs(in, want, order, 41);
	CU_ASSERT_EQUAL_FATAL(contribute(6, 1, base, in, order, 0), 1);
	up_cnt(&c0);
	tu_snap(&before);
	for (uint16_t r = 2; r < 4; r++) {
		grad(r, 6, 1, base, in[r], 0);
		tu_poll();
		n = tu_collect();
		CU_ASSERT_EQUAL_FATAL(n, 2);
		o = out_find(n, DP_MSG_GRAD, TU_PARENT_IP);
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		expect_grad_up(o, slot, base, want, 0);
		o = out_find(n, DP_MSG_WAITING, TU_WORKER_IP(r));
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		CU_ASSERT_EQUAL(o->h.rank, r);
		CU_ASSERT_EQUAL(o->h.slot, slot);
		CU_ASSERT_EQUAL(o->h.round, base);
		CU_ASSERT_EQUAL(o->dport, TU_WORKER_PORT(TU_JOB_LEAF));
		CU_ASSERT_EQUAL_FATAL(o->payload_size, sizeof(w));
		dp_proto_join_wait_read(o->payload, &w);
		CU_ASSERT_EQUAL(w.n_workers, NW);
		CU_ASSERT_EQUAL(w.n_joined, NW);
		CU_ASSERT_EQUAL(w.missing[0], DP_PROTO_RANK_NONE);
	}
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_UP_PENDING), 2);
	CU_ASSERT_EQUAL(job_fate(DP_DROP_UP_PENDING), 2);
	up_cnt(&c1);
	CU_ASSERT_EQUAL(c1.resent - c0.resent, 2);
	CU_ASSERT_EQUAL(c1.sent - c0.sent, 0);

	/* The parent's WAITING (its use still gathers): taken, nothing more. */
	w = (struct dp_proto_join_wait){ .n_workers = 3, .n_joined = 2 };
	dp_proto_join_wait_write(pay, &w);
	tu_pkt_parent(&p, DP_MSG_WAITING, slot, DP_DTYPE_BF16, 0, 0, base, pay, sizeof(w));
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_TREE_ANSWER), 0);

	for (unsigned e = 0; e < ELEMS; e++)
		pay[e] = kn_f32_to_bf16(-(float)e);
	p = parent_result(slot, base, pay);
	expect_results_down(send_expect(&p, DP_DROP_TREE_RESULT), slot, base, pay);
}

/* Of the n frames collected, the ARP requests for the parent's address. */
static unsigned arp_requests_for_parent(unsigned n)
{
	unsigned found = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)(tu_out[i].frame +
									   RTE_ETHER_HDR_LEN);

		if (tu_out[i].ethertype == RTE_ETHER_TYPE_ARP &&
		    a->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST) &&
		    a->arp_data.arp_tip == rte_cpu_to_be_32(TU_PARENT_IP))
			found++;
	}
	return found;
}

/* A sum that cannot go up (the parent's address not resolved) is counted as
 * lost and the gateway asks for the address; once the parent answers, the
 * next retransmission of a worker sends the sum up. */
static void test_sum_lost_on_the_way_up_goes_with_the_next_retransmission(void)
{
	static const unsigned order[NW] = { 0, 1, 2, 3 };
	static uint16_t in[NW][ELEMS], want[ELEMS];
	const uint32_t base = 7000;
	struct up_cnt c0, c1;
	struct tu_pkt p = { .ethertype = RTE_ETHER_TYPE_ARP, .src_mac = tu_parent_mac };
	struct rte_arp_hdr *arp;
	struct rte_mbuf *m;
	unsigned n, asked = 0;

	leaf_up(base);
	/* The same leaf (its run goes on), its parent no longer pinned. */
	tu_parent_pin = false;
	CU_ASSERT_EQUAL_FATAL(tu_policy_apply(tu_policy_make(version++, 256, true)), 0);
	CU_ASSERT_TRUE_FATAL(gw_run_on(atomic_load(&leaf()->inst->run)));
	up_cnt(&c0);
	inputs(in, want, order, 71);
	n = contribute(2, 0, base, in, order, 0);
	CU_ASSERT_PTR_NULL(out_find(n, DP_MSG_GRAD, TU_PARENT_IP));
	asked += arp_requests_for_parent(n);
	up_cnt(&c1);
	CU_ASSERT_EQUAL(c1.lost - c0.lost, 1);
	CU_ASSERT_EQUAL(c1.sent - c0.sent, 0);
	for (int ms = 0; ms < 64 && asked == 0; ms++) {
		tu_clock_advance_ms(1);
		tu_poll();
		asked += arp_requests_for_parent(tu_collect());
	}
	CU_ASSERT_EQUAL_FATAL(asked, 1);

	/* The parent's reply binds its address. */
	m = tu_build(&p);
	arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_sha = tu_parent_mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(TU_PARENT_IP);
	arp->arp_data.arp_tha = tu.gw_mac;
	arp->arp_data.arp_tip = rte_cpu_to_be_32(TU_GW_IP);
	tu_inject(0, m);
	tu_poll();
	CU_ASSERT_EQUAL(tu_collect(), 0);

	grad(1, 2, 0, base, in[1], 0);
	tu_poll();
	n = tu_collect();
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_PTR_NOT_NULL(out_find(n, DP_MSG_WAITING, TU_WORKER_IP(1)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(out_find(n, DP_MSG_GRAD, TU_PARENT_IP));
	expect_grad_up(out_find(n, DP_MSG_GRAD, TU_PARENT_IP), dp_proto_slot_make(2, 0), base,
		       want, 0);
	up_cnt(&c1);
	CU_ASSERT_EQUAL(c1.resent - c0.resent, 1);
	CU_ASSERT_EQUAL(c1.lost - c0.lost, 1);

	tu_parent_pin = true;
	CU_ASSERT_EQUAL(tu_policy_apply(tu_policy_make(version++, 256, true)), 0);
}

/*
 * Joins. Until every local rank has joined nothing goes up; then every
 * worker's HELLO is answered HELLO_WAIT (all in, nobody listed) and a
 * HELLO goes up, its nonce in round and a floor in its padding, at most
 * every 10 ms. The parent's HELLO_WAIT is noted; an ACK of another nonce
 * (an earlier process of ours) is ignored.
 */
static void test_leaf_joins_up_once_every_local_rank_has(void)
{
	struct dp_proto_job_info ji;
	const struct gw_up *up;
	struct dp_proto_join_wait w;
	uint8_t pay[sizeof(w)], info[sizeof(ji)];
	uint32_t nonce, floor;
	struct tu_pkt p;
	unsigned n;

	renew();
	up = &leaf()->inst->up;
	for (uint16_t r = 0; r < NW - 1; r++) {
		n = hello(TU_JOB_LEAF, r, nonce_next + r, tu_hello_pad);
		CU_ASSERT_EQUAL(n, 1);
		expect_hello_wait(n, r, (uint16_t)(r + 1));
	}
	CU_ASSERT_EQUAL(gw_cnt_read(&up->hellos), 0);
	n = hello(TU_JOB_LEAF, 3, nonce_next + 3, tu_hello_pad);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	expect_hello_wait(n, 3, NW);
	nonce = expect_hello_up(n, &floor);
	CU_ASSERT_FALSE(hello_up_floored);      /* a new job holds no rounds */
	CU_ASSERT_EQUAL(nonce, up->nonce);
	CU_ASSERT_EQUAL(gw_cnt_read(&up->hellos), 1);

	/* Within 10 ms of it, a worker's HELLO sends nothing up; later, the
	 * same nonce goes up again. */
	tu_pkt_daitn(&p, DP_MSG_HELLO, TU_JOB_LEAF, 1, 0, 0, 0, 0, nonce_next + 1, tu_hello_pad,
		     DP_PROTO_HELLO_PAD);
	p.dport = TU_UDP_BASE;
	tu_clock_advance_ms(5);
	tu_inject(0, tu_build(&p));
	tu_poll();
	n = tu_collect();
	CU_ASSERT_EQUAL(n, 1);
	expect_hello_wait(n, 1, NW);
	n = hello(TU_JOB_LEAF, 2, nonce_next + 2, tu_hello_pad);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(expect_hello_up(n, &floor), nonce);
	CU_ASSERT_EQUAL(gw_cnt_read(&up->hellos), 2);

	w = (struct dp_proto_join_wait){ .n_workers = 3, .n_joined = 2, .missing = { 1 } };
	for (unsigned i = 1; i < DP_PROTO_WAIT_LIST; i++)
		w.missing[i] = DP_PROTO_RANK_NONE;
	dp_proto_join_wait_write(pay, &w);
	tu_pkt_parent(&p, DP_MSG_HELLO_WAIT, 0, DP_DTYPE_BF16, 0, 0, nonce, pay, sizeof(pay));
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_TREE_ANSWER), 0);
	CU_ASSERT_EQUAL(gw_cnt_read(&up->waits), 1);
	CU_ASSERT_EQUAL(up->wait_joined, 2);
	CU_ASSERT_EQUAL(up->wait_workers, 3);

	/* The answers come to udp_port_base, where the HELLO left from. */
	tu_parent_job_info(&ji, P_SHARDS, 100);
	dp_proto_job_info_write(info, &ji);
	tu_pkt_parent(&p, DP_MSG_HELLO_ACK, 0, DP_DTYPE_BF16, 0, 0, nonce, info, sizeof(info));
	p.dport = TU_UDP_BASE + 1;
	CU_ASSERT_EQUAL(send_expect(&p, DP_DROP_UDP_WRONG_PORT), 0);
	CU_ASSERT_EQUAL(parent_ack(nonce + 1, &ji), 0);
	CU_ASSERT_EQUAL(gw_cnt_read(&up->acks), 0);
	CU_ASSERT_FALSE(up->acked);
	n = hello(TU_JOB_LEAF, 0, nonce_next, tu_hello_pad);
	expect_hello_wait(n, 0, NW);
	CU_ASSERT_FALSE(gw_run_on(atomic_load(&leaf()->inst->run)));
	nonce_next += 16;
}

/* A HELLO_ACK of our nonce for a job our chunks do not fit is refused, and
 * says why in telemetry (the job's "tree" object: parent_refusal); the run
 * does not start. A fitting ACK then starts it. */
static void test_parent_ack_that_does_not_fit_is_refused(void)
{
	static const struct {
		const char *why;
		uint8_t dtype, frac_bits, flags, n_shards;
		uint16_t chunk_size, n_slots;
	} bad[] = {
		{ "its dtype differs", DP_DTYPE_F16, 0, 0, P_SHARDS, 1024, 128 },
		{ "its chunk_size differs", DP_DTYPE_BF16, 0, 0, P_SHARDS, 512, 128 },
		{ "it has fewer slots", DP_DTYPE_BF16, 0, 0, P_SHARDS, 1024, 8 },
		{ "its frac_bits differ", DP_DTYPE_BF16, 16, 0, P_SHARDS, 1024, 128 },
		{ "it is partial or keyed", DP_DTYPE_BF16, 0, DP_PROTO_JOB_PARTIAL, P_SHARDS, 1024,
		  128 },
		{ "its mode differs", DP_DTYPE_BF16, 0, DP_PROTO_JOB_FEDAVG, P_SHARDS, 1024, 128 },
		{ "it has no data lcores", DP_DTYPE_BF16, 0, 0, 0, 1024, 128 },
	};
	const struct gw_up *up;
	struct dp_proto_job_info ji;
	uint32_t nonce, floor;
	unsigned n;

	renew();
	up = &leaf()->inst->up;
	nonce = expect_hello_up(join_all(nonce_next), &floor);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tu_parent_job_info(&ji, bad[i].n_shards, 200);
		ji.dtype = bad[i].dtype;
		ji.frac_bits = bad[i].frac_bits;
		ji.flags = bad[i].flags;
		ji.chunk_size = bad[i].chunk_size;
		ji.n_slots = bad[i].n_slots;
		CU_ASSERT_EQUAL(parent_ack(nonce, &ji), 0);
		CU_ASSERT_EQUAL(gw_cnt_read(&up->refusals), i + 1);
		CU_ASSERT_EQUAL(up->refused_code, DP_ERR_BAD_PARAMS);
		CU_ASSERT_PTR_NOT_NULL(strstr(up->refused, bad[i].why));
		if (strstr(up->refused, bad[i].why) == NULL)
			fprintf(stderr, "\n    refusal \"%s\" lacks \"%s\"\n", up->refused, bad[i].why);
		CU_ASSERT_FALSE(up->acked);
		CU_ASSERT_EQUAL(atomic_load(&up->p_shards), 0);
		/* The workers still wait; the leaf asks again. */
		n = hello(TU_JOB_LEAF, 1, nonce_next + 1, tu_hello_pad);
		expect_hello_wait(n, 1, NW);
		CU_ASSERT_EQUAL(expect_hello_up(n, &floor), nonce);
		CU_ASSERT_FALSE(gw_run_on(atomic_load(&leaf()->inst->run)));
	}
	CU_ASSERT_EQUAL(gw_cnt_read(&up->acks), 0);
	tu_parent_job_info(&ji, P_SHARDS, 200);
	CU_ASSERT_EQUAL(parent_ack(nonce, &ji), 0);
	CU_ASSERT_EQUAL(gw_cnt_read(&up->acks), 1);
	CU_ASSERT_EQUAL(up->refused_code, 0);
	CU_ASSERT_EQUAL(expect_hello_ack(hello(TU_JOB_LEAF, 2, nonce_next + 2, tu_hello_pad), 2,
					 &ji), 200);
	nonce_next += 16;
}

/* The parent's ACK of our nonce starts nothing by itself; the next worker
 * HELLO starts the leaf's run with the parent's round_base, and every
 * worker gets it with the leaf's own job parameters. Sums then go to the
 * parent's shards as its ACK counted them. */
static void test_parent_ack_starts_the_run_with_its_base(void)
{
	static const unsigned order[NW] = { 0, 1, 2, 3 };
	static uint16_t in[NW][ELEMS], want[ELEMS];
	const uint32_t base = 0xfffffff0u;      /* rounds wrap within the run */
	struct dp_proto_job_info ji;
	uint32_t nonce, floor;

	renew();
	nonce = expect_hello_up(join_all(nonce_next), &floor);
	tu_parent_job_info(&ji, P_SHARDS, base);
	CU_ASSERT_EQUAL(parent_ack(nonce, &ji), 0);
	CU_ASSERT_TRUE(leaf()->inst->up.acked);
	CU_ASSERT_FALSE(gw_run_on(atomic_load(&leaf()->inst->run)));
	for (uint16_t r = 0; r < NW; r++) {
		CU_ASSERT_EQUAL(expect_hello_ack(hello(TU_JOB_LEAF, r, nonce_next + r, tu_hello_pad),
						 r, &ji), base);
		CU_ASSERT_EQUAL(ji.n_workers, NW);
		CU_ASSERT_EQUAL(ji.chunk_size, 1024);
		CU_ASSERT_EQUAL(ji.n_slots, leaf()->n_slots);
		CU_ASSERT_EQUAL(ji.udp_port_base, TU_UDP_BASE);
		CU_ASSERT_EQUAL(ji.n_shards, TU_SHARDS);
		CU_ASSERT_EQUAL(ji.dtype, DP_DTYPE_BF16);
		CU_ASSERT_EQUAL(ji.flags, 0);
	}
	nonce_next += 16;
	CU_ASSERT_EQUAL(gw_run_base(atomic_load(&leaf()->inst->run)), base);
	inputs(in, want, order, 51);
	CU_ASSERT_EQUAL_FATAL(contribute(8, 0, base, in, order, 0), 1);
	expect_grad_up(&tu_out[0], dp_proto_slot_make(8, 0), base, want, 0);
}

/*
 * The parent's ERROR run_ended for a round of the leaf's run ends the run
 * (the workers hear so from their next GRAD) and gives the leaf a new
 * nonce, which its next HELLO up carries with a floor past the rounds it
 * holds. One for a round before the run's base, or far past it, answers a
 * GRAD of an earlier run and is ignored; another code is kept as a refusal.
 */
static void test_parent_run_ended_ends_the_leaf_run(void)
{
	static const unsigned order[NW] = { 0, 1, 2, 3 };
	static uint16_t in[NW][ELEMS], want[ELEMS];
	const uint32_t base = 9000;
	const struct gw_job_inst *inst;
	struct dp_proto_job_info ji;
	struct dp_proto_error err;
	struct gw_stats before;
	uint32_t nonce0, nonce1, floor;
	uint64_t run, refusals;

	leaf_up(base);
	inst = leaf()->inst;
	nonce0 = inst->up.nonce;
	inputs(in, want, order, 61);
	CU_ASSERT_EQUAL_FATAL(contribute(2, 0, base, in, order, 0), 1);
	CU_ASSERT_EQUAL_FATAL(contribute(3, 0, base, in, order, 0), 1);
	run = atomic_load(&inst->run);

	CU_ASSERT_EQUAL(parent_error(base - 1, DP_ERR_RUN_ENDED, 4), 0);
	CU_ASSERT_EQUAL(parent_error(base + (1u << 30), DP_ERR_RUN_ENDED, 4), 0);
	CU_ASSERT_EQUAL(atomic_load(&inst->run), run);
	CU_ASSERT_EQUAL(inst->up.nonce, nonce0);
	CU_ASSERT_EQUAL(gw_cnt_read(&inst->up.runs_ended), 0);
	CU_ASSERT_EQUAL(parent_error(base, DP_ERR_OVERLOADED, sizeof(err)), 0);
	CU_ASSERT_EQUAL(atomic_load(&inst->run), run);
	CU_ASSERT_EQUAL(inst->up.refused_code, DP_ERR_OVERLOADED);
	CU_ASSERT_EQUAL(gw_cnt_read(&inst->up.refusals), 1);

	/* Cut to a GRAD's payload, as the parent sends it. */
	CU_ASSERT_EQUAL(parent_error(base, DP_ERR_RUN_ENDED, 2), 0);
	CU_ASSERT_FALSE(gw_run_on(atomic_load(&inst->run)));
	CU_ASSERT_EQUAL(gw_cnt_read(&inst->up.runs_ended), 1);
	CU_ASSERT_NOT_EQUAL(inst->up.nonce, nonce0);
	CU_ASSERT_FALSE(inst->up.acked);
	nonce1 = inst->up.nonce;

	tu_snap(&before);
	grad(0, 4, 0, base, in[0], 0);
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_RUN_NONE), 1);
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].h.type, DP_MSG_ERROR);
	CU_ASSERT_EQUAL(tu_out[0].dst_ip, TU_WORKER_IP(0));
	CU_ASSERT_EQUAL(tu_out[0].h.round, base);
	dp_proto_error_read(tu_out[0].payload, tu_out[0].payload_size, &err);
	CU_ASSERT_EQUAL(err.code, DP_ERR_RUN_ENDED);

	/* A late copy while no run is on changes nothing. */
	CU_ASSERT_EQUAL(parent_error(base, DP_ERR_RUN_ENDED, 2), 0);
	CU_ASSERT_EQUAL(inst->up.nonce, nonce1);

	/* The workers join again: the new nonce goes up, asking for a base
	 * past the rounds the leaf's slots hold. */
	CU_ASSERT_EQUAL(expect_hello_up(join_all(nonce_next), &floor), nonce1);
	CU_ASSERT_TRUE(hello_up_floored);
	CU_ASSERT(dp_proto_tag_cmp(floor, 0, base, 0) > 0);
	/* A base behind that floor would start the run among the rounds the
	 * slots hold (their results taken for new sums): refused. */
	refusals = gw_cnt_read(&inst->up.refusals);
	tu_parent_job_info(&ji, P_SHARDS, floor - 1);
	CU_ASSERT_EQUAL(parent_ack(nonce1, &ji), 0);
	CU_ASSERT_FALSE(inst->up.acked);
	CU_ASSERT_EQUAL(gw_cnt_read(&inst->up.refusals), refusals + 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(inst->up.refused, "round_base behind"));
	tu_parent_job_info(&ji, P_SHARDS, floor);
	CU_ASSERT_EQUAL(parent_ack(nonce1, &ji), 0);
	CU_ASSERT_EQUAL(expect_hello_ack(hello(TU_JOB_LEAF, 0, nonce_next, tu_hello_pad), 0, &ji),
			floor);
	nonce_next += 16;
}

/* An inner gateway (a leaf whose ranks include gateways) asks its parent
 * for a base past its children's floors as well as its own. */
static void test_inner_gateway_passes_up_its_childrens_highest_floor(void)
{
	uint8_t pad[DP_PROTO_HELLO_PAD] = { 0 }, pad2[DP_PROTO_HELLO_PAD] = { 0 };
	uint32_t floor;
	unsigned n = 0;

	renew();
	dp_proto_hello_floor_write(pad, 0x12345678u);
	dp_proto_hello_floor_write(pad2, 0x12340000u);
	for (uint16_t r = 0; r < NW; r++)
		n = hello(TU_JOB_LEAF, r, nonce_next + r,
			  r == 1 ? pad : r == 2 ? pad2 : tu_hello_pad);
	expect_hello_up(n, &floor);
	CU_ASSERT_TRUE(hello_up_floored);
	CU_ASSERT_EQUAL(floor, 0x12345678u);
	nonce_next += 16;
}

/* A root (job 2 has no parent) starts its run past the highest floor its
 * ranks' HELLOs carry; a floor behind the base it would take moves nothing. */
static void test_root_starts_its_run_past_its_childrens_floors(void)
{
	uint8_t pad[NW][DP_PROTO_HELLO_PAD];
	struct dp_proto_job_info ji;
	uint32_t base0, base1, base2;
	unsigned n = 0;

	base0 = tu_join(2, 4, nonce_next);
	nonce_next += 16;
	CU_ASSERT_NOT_EQUAL_FATAL(base0, UINT32_MAX);

	memset(pad, 0, sizeof(pad));
	dp_proto_hello_floor_write(pad[1], base0 + 500);
	dp_proto_hello_floor_write(pad[3], base0 + 90000);
	for (uint16_t r = 0; r < 4; r++)
		n = hello(2, r, nonce_next + r, pad[r]);
	base1 = expect_hello_ack(n, 3, &ji);
	CU_ASSERT_EQUAL(base1, base0 + 90000);
	nonce_next += 16;

	memset(pad, 0, sizeof(pad));
	dp_proto_hello_floor_write(pad[2], base0);
	for (uint16_t r = 0; r < 4; r++)
		n = hello(2, r, nonce_next + r, pad[r]);
	base2 = expect_hello_ack(n, 3, &ji);
	CU_ASSERT(dp_proto_tag_cmp(base2, 0, base1, 0) > 0);
	CU_ASSERT(dp_proto_tag_cmp(base2, 0, base1 + 16, 0) < 0);
	nonce_next += 16;
}

static CU_TestInfo tests[] = {
	{ "parent_messages_to_a_job_without_parent_are_unexpected",
	  test_parent_messages_to_a_job_without_parent_are_unexpected },
	{ "spoofed_results_are_dropped_and_the_use_still_completes",
	  test_spoofed_results_are_dropped_and_the_use_still_completes },
	{ "local_completion_sends_one_grad_up", test_local_completion_sends_one_grad_up },
	{ "parent_result_goes_down_to_every_local_rank",
	  test_parent_result_goes_down_to_every_local_rank },
	{ "retransmission_while_up_resends_the_sum", test_retransmission_while_up_resends_the_sum },
	{ "sum_lost_on_the_way_up_goes_with_the_next_retransmission",
	  test_sum_lost_on_the_way_up_goes_with_the_next_retransmission },
	{ "leaf_joins_up_once_every_local_rank_has", test_leaf_joins_up_once_every_local_rank_has },
	{ "parent_ack_that_does_not_fit_is_refused", test_parent_ack_that_does_not_fit_is_refused },
	{ "parent_ack_starts_the_run_with_its_base", test_parent_ack_starts_the_run_with_its_base },
	{ "parent_run_ended_ends_the_leaf_run", test_parent_run_ended_ends_the_leaf_run },
	{ "inner_gateway_passes_up_its_childrens_highest_floor",
	  test_inner_gateway_passes_up_its_childrens_highest_floor },
	{ "root_starts_its_run_past_its_childrens_floors",
	  test_root_starts_its_run_past_its_childrens_floors },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_tree = { "gw_tree", NULL, NULL, NULL, NULL, tests };
