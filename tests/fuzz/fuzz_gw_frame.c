/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the gateway's frame parser and everything behind it
 * (dataplane/gw: gw_pkt_burst -> ARP, ICMP, UDP, daitn and inference
 * headers, job checks, joins, the slot machine, inference routing). It runs
 * the real gateway of the gateway suites (tests/gw/gw_tu.c: an EAL with
 * --no-huge, two data lcores driven by this thread, a net_ring port, the test
 * policy with every job joined). The input is one Ethernet frame; its first
 * byte picks the RX queue it arrives on. Whatever it is, the frame ends in a
 * counted fate, what the gateway sends is well-formed, and nothing leaks:
 * every mbuf is back in the pool but those a deterministic job holds for
 * their rank's turn (docs/protocol.md section 5), which the lcores count.
 *
 * The fixture's tree leaf (job TU_JOB_LEAF, docs/protocol.md section 12) is
 * kept armed, so that the seeds of tests/fuzz/make_seeds.py from its parent
 * find what they answer: its run on from the parent's ACK (round_base
 * LEAF_BASE, 2 shards), its nonce toward the parent LEAF_NONCE, and the
 * sums of slots 0 and 1 (set 0, round LEAF_BASE) up and waiting. After an
 * input that changed any of that (a RESULT that came down, the parent's end
 * of run, a local rank's new process) the harness arms it again: by the
 * protocol where it can (a worker's new process, the parent's ACK, the
 * workers' HELLOs and GRADs), and by writing what no message can undo: the
 * nonce (a new run takes a random one) and a set whose use is over
 * (emptied, as a fresh job's).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "gw_priv.h"
#include "gw_tu.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void teardown(void)
{
	tu_teardown();
}

/* The leaf's state the seeds answer (tests/fuzz/make_seeds.py: LEAF_*). */
#define LEAF_NONCE 0x7ee0f00du          /* its nonce toward the parent */
#define LEAF_WORKER_NONCE 0x1eaf0000u   /* its rank r's: + r */
#define LEAF_BASE 5000u                 /* the parent's round_base */
#define LEAF_ELEMS 512                  /* 1 KiB of bfloat16 */

/* The use of the leaf's slot `index`, set 0, on its shard. */
static struct dp_slot_set *leaf_set(const struct gw_job_inst *in, uint16_t index)
{
	return dp_slot_set_get(&in->lc[index % TU_SHARDS]->slots, index / TU_SHARDS, 0);
}

static bool leaf_set_up(const struct dp_slot_set *s)
{
	return s->state == DP_SLOT_COMPLETE && s->aux == 1 && s->round == LEAF_BASE &&
	       s->offset == 0 && s->count == LEAF_ELEMS;
}

static bool leaf_armed(const struct gw_job_inst *in)
{
	uint64_t run = atomic_load(&in->run);

	return gw_run_on(run) && gw_run_base(run) == LEAF_BASE && in->up.acked &&
	       in->up.nonce == LEAF_NONCE && in->up.base == LEAF_BASE &&
	       atomic_load(&in->up.p_shards) == TU_SHARDS &&
	       atomic_load(&in->up.p_port) == TU_PARENT_PORT &&
	       leaf_set_up(leaf_set(in, 0)) && leaf_set_up(leaf_set(in, 1));
}

/* Send a frame built by the fixture and poll; discard what goes out. */
static void send_poll(const struct tu_pkt *p)
{
	tu_inject(0, tu_build(p));
	tu_poll();
	tu_collect();
}

static void worker_hello(uint16_t rank, uint32_t nonce)
{
	struct tu_pkt p;

	tu_pkt_daitn(&p, DP_MSG_HELLO, TU_JOB_LEAF, rank, 0, 0, 0, 0, nonce, tu_hello_pad,
		     DP_PROTO_HELLO_PAD);
	p.dport = TU_UDP_BASE;
	send_poll(&p);
}

/* The parent's HELLO_ACK of LEAF_NONCE (the leaf's nonce forced to it). */
static void parent_ack(struct gw_job_inst *inst)
{
	uint8_t info[sizeof(struct dp_proto_job_info)];
	struct dp_proto_job_info ji;
	struct tu_pkt p;

	/* Shard 0 alone writes them, and no lcore runs but in tu_poll().
	 * The harness replays one base, which the seeds' RESULTs name; once
	 * the leaf's slots hold its rounds, the floor the leaf asked for
	 * would refuse it (what a real parent never sends): forget it. */
	inst->up.nonce = LEAF_NONCE;
	inst->up.floored = false;
	tu_parent_job_info(&ji, TU_SHARDS, LEAF_BASE);
	dp_proto_job_info_write(info, &ji);
	tu_pkt_parent(&p, DP_MSG_HELLO_ACK, 0, DP_DTYPE_BF16, 0, 0, LEAF_NONCE, info, sizeof(info));
	send_poll(&p);
}

static void leaf_arm(void)
{
	static uint16_t in[LEAF_ELEMS];
	struct gw_job_inst *inst = gw_tables_job(tu.gw->tables, TU_JOB_LEAF)->inst;
	uint64_t run = atomic_load(&inst->run);

	/* A run with another base: rank 0's new process ends it. */
	if (gw_run_on(run) && gw_run_base(run) != LEAF_BASE)
		worker_hello(0, LEAF_WORKER_NONCE - 1);
	if (!gw_run_on(atomic_load(&inst->run))) {
		/* An ACK the run would start with must be ours. */
		if (inst->up.acked)
			parent_ack(inst);
		/* Every rank joins: the leaf asks its parent (a HELLO up, 10 ms
		 * after the last). */
		tu_clock_advance_ms(10);
		for (uint16_t r = 0; r < TU_LEAF_WORKERS; r++)
			worker_hello(r, LEAF_WORKER_NONCE + r);
	}
	if (!inst->up.acked || inst->up.nonce != LEAF_NONCE || inst->up.base != LEAF_BASE ||
	    atomic_load(&inst->up.p_shards) != TU_SHARDS ||
	    atomic_load(&inst->up.p_port) != TU_PARENT_PORT)
		parent_ack(inst);
	/* ACKed: the next HELLO starts the run with the parent's base. */
	if (!gw_run_on(atomic_load(&inst->run)))
		worker_hello(0, LEAF_WORKER_NONCE);
	for (unsigned e = 0; e < LEAF_ELEMS; e++)
		in[e] = (uint16_t)(0x3f80 + e % 64);    /* bfloat16 1.0 .. 1.98 */
	for (uint16_t index = 0; index < 2; index++) {
		struct dp_slot_set *s = leaf_set(inst, index);

		if (leaf_set_up(s))
			continue;
		s->state = DP_SLOT_EMPTY;
		for (uint16_t r = 0; r < TU_LEAF_WORKERS; r++)
			tu_grad(TU_JOB_LEAF, r, index, 0, DP_DTYPE_BF16, LEAF_ELEMS, 0, LEAF_BASE, in);
	}
	tu_poll();
	tu_collect();
	if (!leaf_armed(inst))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (tu_setup() != 0)
		abort();
	leaf_arm();
	atexit(teardown);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m;
	unsigned n, queue;

	if (size < 1 || size > 1 + 9000)
		return 0;
	queue = data[0] & 1;
	data++;
	size--;
	m = rte_pktmbuf_alloc(tu.pool);
	assert(m != NULL);
	if (size > rte_pktmbuf_tailroom(m))
		size = rte_pktmbuf_tailroom(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)size), data, size);
	m->port = tu.port_id;
	tu_inject(queue, m);
	tu_poll();
	n = tu_collect();
	for (unsigned i = 0; i < n; i++) {
		/* A daitn answer parses as one. */
		if (tu_out[i].ethertype == 0x0800 &&
		    (tu_out[i].sport == TU_UDP_BASE || tu_out[i].sport == TU_UDP_BASE + 1) &&
		    tu_out[i].len >= 64 && tu_out[i].frame[45] < 16)
			assert(tu_out[i].check == DP_PROTO_CHECK_OK);
	}
	/* Every mbuf went back to the pool (none leaked by a fate), or is
	 * held, and counted, by a deterministic job. */
	unsigned held = 0;

	for (unsigned k = 0; k < TU_SHARDS; k++)
		held += tu.gw->lcores[k]->held -
			atomic_load(&tu.gw->lcores[k]->held_gone);
	assert(rte_mempool_in_use_count(tu.pool) == held);
	if (!leaf_armed(gw_tables_job(tu.gw->tables, TU_JOB_LEAF)->inst))
		leaf_arm();
	return 0;
}
