/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_neigh: a node's address is bound to one Ethernet address, by the
 * gateway's own ARP or by a pin in the policy, and nothing a host on the
 * segment sends moves it. Frames from another source MAC are dropped before
 * any work (no answer, no charge, no run ended); a claim for a bound address
 * is counted, never followed; results go to the bound address.
 *
 * Every test leaves the fixture's pinned policy in place.
 */
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_arp.h>

#include "dp_proto_infer.h"
#include "gw_infer_priv.h"
#include "gw_tu.h"

static const struct rte_ether_addr evil = { { 0x02, 0xee, 0xee, 0xee, 0xee, 0x01 } };
static float ones[4] = { 1, 1, 1, 1 };

static struct rte_ether_addr rank_mac(uint16_t rank)
{
	return (struct rte_ether_addr){ { 0x02, 0, 0, 0, (uint8_t)(rank >> 8), (uint8_t)(rank + 1) } };
}

static const struct gw_job *job_of(uint16_t id)
{
	return gw_tables_job(tu.gw->tables, id);
}

/* A round every worker of the job's run may send now: one past the newest
 * the job completed on any shard, or the run's base. */
static uint32_t next_round(uint16_t id)
{
	const struct gw_job *job = job_of(id);
	uint32_t base = gw_run_base(atomic_load(&job->inst->run)), r = base;

	for (unsigned k = 0; k < TU_SHARDS; k++) {
		uint32_t n = gw_run_next(job->inst->lc[k], base);

		if ((int32_t)(n - r) > 0)
			r = n;
	}
	return r;
}

static void grad_from(uint16_t rank, const struct rte_ether_addr *mac, uint32_t round)
{
	struct tu_pkt p;

	tu_pkt_daitn(&p, DP_MSG_GRAD, 1, rank, dp_proto_slot_make(0, round & 1), DP_DTYPE_F32, 4,
		     0, round, ones, sizeof(ones));
	p.src_mac = *mac;
	tu_inject(0, tu_build(&p));
	tu_poll();
}

/* An ARP frame from mac claiming ip (host order), to tip. */
static void arp_in(uint16_t op, uint32_t ip, const struct rte_ether_addr *mac, uint32_t tip)
{
	struct tu_pkt p = { .ethertype = RTE_ETHER_TYPE_ARP, .src_mac = *mac };
	struct rte_mbuf *m = tu_build(&p);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);

	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	arp->arp_data.arp_sha = *mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(ip);
	/* A reply is addressed to the gateway's MAC, a request to nobody. */
	if (op == RTE_ARP_OP_REPLY)
		arp->arp_data.arp_tha = tu.gw_mac;
	else
		memset(&arp->arp_data.arp_tha, 0, 6);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	tu_inject(0, m);
	tu_poll();
}

/* Of the n frames collected, the ARP requests for ip (host order). */
static unsigned arp_requests_for(unsigned n, uint32_t ip)
{
	unsigned found = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)(tu_out[i].frame +
									   RTE_ETHER_HDR_LEN);

		if (tu_out[i].ethertype == RTE_ETHER_TYPE_ARP &&
		    a->arp_opcode == RTE_BE16(RTE_ARP_OP_REQUEST) &&
		    a->arp_data.arp_tip == rte_cpu_to_be_32(ip) &&
		    a->arp_data.arp_sip == rte_cpu_to_be_32(TU_GW_IP) &&
		    rte_is_broadcast_ether_addr(&tu_out[i].eth.dst_addr))
			found++;
	}
	return found;
}

static uint64_t node_word(uint32_t node, uint64_t *conflicts)
{
	return gw_neigh_word(tu.gw, tu.gw->tables, node, conflicts);
}

static void restore_pins(void)
{
	tu_policy_pin = true;
	CU_ASSERT_EQUAL(tu_policy_apply(tu_policy_make(300, 256, true)), 0);
	tu_poll();
	tu_collect();
}

/* Pinned (the fixture): a GRAD or HELLO with the rank's ip:port but another
 * MAC is dropped before anything is charged or answered; a HELLO with a new
 * nonce from there does not end the run. */
static void test_other_mac_is_dropped_before_any_work(void)
{
	struct rte_ether_addr own = rank_mac(0);
	uint64_t run = atomic_load(&job_of(1)->inst->run);
	uint32_t round = next_round(1);
	struct gw_stats before;
	struct tu_pkt p;

	tu_snap(&before);
	grad_from(0, &evil, round);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_SRC_MAC_MISMATCH), 1);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 0);
	CU_ASSERT_EQUAL(tu_collect(), 0);

	tu_pkt_daitn(&p, DP_MSG_HELLO, 1, 0, 0, 0, 0, 0, 0x5eed0001u, tu_hello_pad,
		     DP_PROTO_HELLO_PAD);
	p.dport = TU_UDP_BASE;
	p.src_mac = evil;
	tu_clock_advance_ms(10);
	tu_inject(0, tu_build(&p));
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_SRC_MAC_MISMATCH), 2);
	CU_ASSERT_EQUAL(tu_collect(), 0);
	CU_ASSERT_EQUAL(atomic_load(&job_of(1)->inst->run), run);

	grad_from(0, &own, round);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_AGGREGATED), 1);
}

/* A request for our address is answered and binds nothing; when it names a
 * node's address with another MAC, that claim is counted (a host replaced
 * under the same IP asks for the gateway first: the operator sees it). */
static void test_arp_request_to_us_binds_nothing(void)
{
	uint64_t c0, conflicts, w = node_word(0, &c0);
	struct gw_stats before;

	tu_snap(&before);
	arp_in(RTE_ARP_OP_REQUEST, TU_WORKER_IP(0), &evil, TU_GW_IP);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ARP_REPLIED), 1);
	CU_ASSERT_EQUAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(node_word(0, &conflicts), w);
	CU_ASSERT_EQUAL(conflicts, c0 + 1);
	CU_ASSERT_TRUE((w & GW_MAC_PINNED) != 0);
}

/* Unpinned: the gateway asks; only a reply to its own request binds; the
 * first reply wins and later claims are counted; results go to the bound
 * address; a reload resolves a contested address again. */
static void test_arp_binds_once_and_counts_claims(void)
{
	struct rte_ether_addr own = rank_mac(0), r3 = rank_mac(3);
	struct gw_stats before;
	uint64_t c0, conflicts, w;
	unsigned n, results = 0, asked0 = 0, asked200 = 0;
	uint32_t round;

	tu_policy_pin = false;
	CU_ASSERT_EQUAL_FATAL(tu_policy_apply(tu_policy_make(200, 256, true)), 0);
	CU_ASSERT_EQUAL(node_word(0, &c0), 0);
	round = next_round(1);
	tu_snap(&before);
	grad_from(0, &own, round);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_NEIGH_UNRESOLVED), 1);

	/* Before the gateway asked (its clock has not moved), a reply binds
	 * nothing. */
	arp_in(RTE_ARP_OP_REPLY, TU_WORKER_IP(0), &evil, TU_GW_IP);
	CU_ASSERT_EQUAL(node_word(0, &conflicts), 0);
	CU_ASSERT_EQUAL(conflicts, c0);

	/* 8 nodes are asked for per millisecond: 32 cover all 256, each asked
	 * once (again only a second later). */
	for (int ms = 0; ms < 64; ms++) {
		tu_clock_advance_ms(1);
		tu_poll();
		n = tu_collect();
		asked0 += arp_requests_for(n, TU_WORKER_IP(0));
		asked200 += arp_requests_for(n, TU_WORKER_IP(200));
	}
	CU_ASSERT_EQUAL(asked0, 1);
	CU_ASSERT_EQUAL(asked200, 1);

	for (uint16_t r = 0; r < 3; r++) {
		struct rte_ether_addr mac = rank_mac(r);

		arp_in(RTE_ARP_OP_REPLY, TU_WORKER_IP(r), &mac, TU_GW_IP);
	}
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ARP_RESOLVED), 3);
	w = node_word(0, &conflicts);
	CU_ASSERT_EQUAL(w, gw_mac_word(own.addr_bytes, 0));
	/* Rank 3's reply comes 2 s after the request: too late to bind (the
	 * gateway's clock moves without a poll, so nobody asked again). */
	tu_clock_advance_ms(2000);
	arp_in(RTE_ARP_OP_REPLY, TU_WORKER_IP(3), &r3, TU_GW_IP);
	CU_ASSERT_EQUAL(node_word(3, &conflicts), 0);
	for (int ms = 0; ms < 64; ms++) {
		tu_clock_advance_ms(1);
		tu_poll();
		n = tu_collect();
		if (arp_requests_for(n, TU_WORKER_IP(3)) != 0)
			break;
	}
	arp_in(RTE_ARP_OP_REPLY, TU_WORKER_IP(3), &r3, TU_GW_IP);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ARP_RESOLVED), 4);
	CU_ASSERT_EQUAL(node_word(3, &conflicts), gw_mac_word(r3.addr_bytes, 0));

	/* A later claim, as a reply or a gratuitous ARP: counted only. */
	arp_in(RTE_ARP_OP_REPLY, TU_WORKER_IP(0), &evil, TU_GW_IP);
	arp_in(RTE_ARP_OP_REQUEST, TU_WORKER_IP(0), &evil, TU_WORKER_IP(0));
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ARP_CONFLICT), 2);
	CU_ASSERT_EQUAL(node_word(0, &conflicts), w);
	CU_ASSERT_EQUAL(conflicts, c0 + 2);
	grad_from(0, &evil, round);
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_SRC_MAC_MISMATCH), 1);

	for (uint16_t r = 0; r < 4; r++) {
		struct rte_ether_addr mac = rank_mac(r);

		grad_from(r, &mac, round);
	}
	n = tu_collect();
	for (unsigned i = 0; i < n; i++) {
		if (tu_out[i].check != DP_PROTO_CHECK_OK || tu_out[i].h.type != DP_MSG_RESULT)
			continue;
		results++;
		CU_ASSERT_TRUE(rte_is_same_ether_addr(&tu_out[i].eth.dst_addr,
						      &(struct rte_ether_addr){ { 0x02, 0, 0, 0, 0,
						      (uint8_t)(tu_out[i].h.rank + 1) } }));
	}
	CU_ASSERT_EQUAL(results, 4);

	/* The operator's reload: the contested address is resolved anew, the
	 * others stay bound. */
	CU_ASSERT_EQUAL_FATAL(tu_policy_apply(tu_policy_make(201, 256, true)), 0);
	CU_ASSERT_EQUAL(node_word(0, &conflicts), 0);
	CU_ASSERT_NOT_EQUAL(node_word(1, &conflicts), 0);
	restore_pins();
}

/* Inference: a BEAT with a stage node's ip:port from another MAC neither
 * keeps the node alive nor changes where its activations go. */
static void test_spoofed_beat_keeps_no_node_alive(void)
{
	static const char pol[] =
		"{\"version\": 250, \"node_timeout_ms\": 400,\n"
		" \"nodes\": [{\"id\": \"s\", \"ip\": \"10.9.0.11\", \"roles\": [\"stage\", \"requester\"],\n"
		"              \"mac\": \"02:00:00:00:00:01\"}],\n"
		" \"models\": [{\"id\": 7, \"stages\": [{\"replicas\": [{\"node\": \"s\", "
		"\"port\": 48000}]}], \"requesters\": [\"s\"]}]}\n";
	struct dp_infer_hdr bh = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION,
		.type = DP_MSG_INFER_BEAT, .model = 7, .n_frags = 1,
	};
	uint8_t beat[DP_INFER_HDR_SIZE];
	struct gw_stats before;
	struct tu_pkt p;
	uint64_t seen;

	CU_ASSERT_EQUAL_FATAL(tu_policy_apply(pol), 0);
	dp_proto_infer_write(beat, &bh);
	tu_pkt_daitn(&p, 0, 0, 0, 0, 0, 0, 0, 0, beat, sizeof(beat));
	p.raw = true;
	p.sport = 48000;
	p.dport = TU_UDP_BASE;
	p.src_mac = evil;
	tu_snap(&before);
	tu_clock_advance_ms(10);
	seen = tu.gw->tables->infer->last_seen[0];
	tu_inject(0, tu_build(&p));
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_SRC_MAC_MISMATCH), 1);
	CU_ASSERT_EQUAL(tu.gw->tables->infer->last_seen[0], seen);
	p.src_mac = rank_mac(0);
	tu_inject(0, tu_build(&p));
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_INFER_BEAT), 1);
	CU_ASSERT_NOT_EQUAL(tu.gw->tables->infer->last_seen[0], seen);

	restore_pins();
	for (uint16_t job = 1; job <= TU_JOBS; job++)
		CU_ASSERT_NOT_EQUAL(tu_join(job, tu_job_workers(job), 70000u + 1000u * job),
				    UINT32_MAX);
}

static CU_TestInfo tests[] = {
	{ "other_mac_is_dropped_before_any_work", test_other_mac_is_dropped_before_any_work },
	{ "arp_request_to_us_binds_nothing", test_arp_request_to_us_binds_nothing },
	{ "arp_binds_once_and_counts_claims", test_arp_binds_once_and_counts_claims },
	{ "spoofed_beat_keeps_no_node_alive", test_spoofed_beat_keeps_no_node_alive },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_neigh = { "gw_neigh", NULL, NULL, NULL, NULL, tests };
