/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_pkt: frames the gateway must refuse, each counted under its own
 * reason and answered by nothing; then ARP and ICMP echo, answered in place.
 */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "gw_tu.h"

static const float ones[256] = { 1.0f };

/* Inject m on queue 0, poll, and check it ends as exactly `want`, with no
 * frame sent. */
static void expect_drop(struct rte_mbuf *m, unsigned queue, enum dp_drop want)
{
	struct gw_stats before;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	tu_snap(&before);
	tu_inject(queue, m);
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, want), 1);
	if (tu_fate_delta(&before, want) != 1)
		fprintf(stderr, "\n    expected one %s\n", dp_drop_name(want));
	CU_ASSERT_EQUAL(tu_collect(), 0);
}

static struct rte_mbuf *grad(uint16_t job, uint16_t rank)
{
	struct tu_pkt p;

	tu_pkt_daitn(&p, DP_MSG_GRAD, job, rank, dp_proto_slot_make(0, 0), DP_DTYPE_F32, 256,
		     0, 1000, ones, sizeof(ones));
	return tu_build(&p);
}

static void test_link_and_network_garbage_is_dropped(void)
{
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;

	m = grad(1, 0);
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - 10));
	expect_drop(m, 0, DP_DROP_L2_SHORT);

	m = grad(1, 0);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	expect_drop(m, 0, DP_DROP_L2_NOT_IPV4);
	m = grad(1, 0);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
	expect_drop(m, 0, DP_DROP_L2_NOT_IPV4);

	m = grad(1, 0);   /* IP options are refused */
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	ip->version_ihl = 0x46;
	expect_drop(m, 0, DP_DROP_IP_BAD_HEADER);
	m = grad(1, 0);   /* header checksum */
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	ip->time_to_live--;
	expect_drop(m, 0, DP_DROP_IP_BAD_HEADER);
	m = grad(1, 0);   /* total length beyond the frame */
	rte_pktmbuf_trim(m, 100);
	expect_drop(m, 0, DP_DROP_IP_BAD_HEADER);

	m = grad(1, 0);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_MF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	expect_drop(m, 0, DP_DROP_IP_FRAGMENT);

	m = grad(1, 0);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	ip->dst_addr = rte_cpu_to_be_32(TU_GW_IP + 1);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	expect_drop(m, 0, DP_DROP_IP_NOT_FOR_US);

	m = grad(1, 0);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	ip->next_proto_id = IPPROTO_TCP;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	expect_drop(m, 0, DP_DROP_IP_NOT_UDP);
}

static void test_udp_garbage_is_dropped(void)
{
	struct rte_mbuf *m;
	struct rte_udp_hdr *udp;
	struct tu_pkt p;

	m = grad(1, 0);
	udp = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, 34);
	udp->dgram_len = rte_cpu_to_be_16(rte_be_to_cpu_16(udp->dgram_len) - 4);
	expect_drop(m, 0, DP_DROP_UDP_BAD_LENGTH);

	tu_pkt_daitn(&p, DP_MSG_GRAD, 1, 0, 0, DP_DTYPE_F32, 256, 0, 1000, ones, sizeof(ones));
	p.dport = TU_UDP_BASE + TU_SHARDS;           /* one past the last shard */
	expect_drop(tu_build(&p), 0, DP_DROP_UDP_WRONG_PORT);
	p.dport = 53;
	expect_drop(tu_build(&p), 1, DP_DROP_UDP_WRONG_PORT);
}

/* Every malformed daitn header, through the whole pipeline. */
static void test_malformed_daitn_headers_are_dropped(void)
{
	uint8_t raw[DP_PROTO_HDR_SIZE + 1024];
	struct tu_pkt p;
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_GRAD, .job = 1,
		.rank = 0, .slot = 0, .dtype = DP_DTYPE_F32, .count = 256,
	};
	static const struct {
		size_t off;
		uint8_t val;
		size_t len;
		enum dp_drop want;
	} cases[] = {
		{ 0, 0, 21, DP_DROP_PROTO_SHORT },
		{ 0, 0xdb, sizeof(raw), DP_DROP_PROTO_BAD_MAGIC },
		{ 2, 1, sizeof(raw), DP_DROP_PROTO_BAD_VERSION },
		{ 3, 9, sizeof(raw), DP_DROP_PROTO_BAD_TYPE },
		{ 10, 7, sizeof(raw), DP_DROP_PROTO_BAD_DTYPE },
		{ 11, 0x80, sizeof(raw), DP_DROP_PROTO_BAD_FLAGS },
		{ 12, 0x40, sizeof(raw), DP_DROP_PROTO_BAD_COUNT },   /* count 0x4000 */
		{ 0, 0xda, sizeof(raw) - 4, DP_DROP_PROTO_LENGTH_MISMATCH },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dp_proto_hdr_write(raw, &h);
		memset(raw + DP_PROTO_HDR_SIZE, 0, sizeof(raw) - DP_PROTO_HDR_SIZE);
		raw[cases[i].off] = cases[i].val;
		tu_pkt_daitn(&p, 0, 1, 0, 0, 0, 0, 0, 0, raw, cases[i].len);
		p.raw = true;
		expect_drop(tu_build(&p), 0, cases[i].want);
	}
}

/* Messages from the wrong place or for the wrong thing change nothing. */
static void test_refused_grads_are_counted_and_change_nothing(void)
{
	struct rte_mbuf *m;
	struct tu_pkt p;
	float big[300] = { 0 };

	expect_drop(grad(99, 0), 0, DP_DROP_JOB_UNKNOWN);
	expect_drop(grad(1, 4), 0, DP_DROP_RANK_INVALID);
	tu_pkt_daitn(&p, DP_MSG_GRAD, 1, 0, 0, DP_DTYPE_F32, 256, 0, 1000, ones, sizeof(ones));
	p.src_ip = TU_WORKER_IP(1);                   /* rank 0's slot, rank 1's address */
	expect_drop(tu_build(&p), 0, DP_DROP_SOURCE_NOT_ADMITTED);
	p.src_ip = 0x0a0900feu;                       /* an address not in the policy */
	expect_drop(tu_build(&p), 0, DP_DROP_SOURCE_NOT_ADMITTED);
	tu_pkt_daitn(&p, DP_MSG_GRAD, 1, 0, 0, DP_DTYPE_F32, 256, 0, 1000, ones, sizeof(ones));
	p.sport = 5555;
	expect_drop(tu_build(&p), 0, DP_DROP_SOURCE_NOT_ADMITTED);
	tu_pkt_daitn(&p, DP_MSG_GRAD, 1, 0, 0, DP_DTYPE_I32, 256, 0, 1000, ones, sizeof(ones));
	expect_drop(tu_build(&p), 0, DP_DROP_DTYPE_MISMATCH);
	tu_pkt_daitn(&p, DP_MSG_GRAD, 1, 0, 0, DP_DTYPE_F32, 300, 0, 1000, big, sizeof(big));
	expect_drop(tu_build(&p), 0, DP_DROP_CHUNK_TOO_LARGE);
	tu_pkt_daitn(&p, DP_MSG_GRAD, 1, 0, dp_proto_slot_make(4096, 0), DP_DTYPE_F32, 256, 0,
		     1000, ones, sizeof(ones));
	expect_drop(tu_build(&p), 0, DP_DROP_SLOT_OUT_OF_RANGE);
	tu_pkt_daitn(&p, DP_MSG_GRAD, 1, 0, dp_proto_slot_make(3, 0), DP_DTYPE_F32, 256, 0,
		     1000, ones, sizeof(ones));
	p.dport = TU_UDP_BASE;                        /* slot 3 belongs to shard 1 */
	expect_drop(tu_build(&p), 0, DP_DROP_SLOT_WRONG_SHARD);
	tu_pkt_daitn(&p, DP_MSG_RESULT, 1, 0, 0, DP_DTYPE_F32, 256, 0, 1000, ones, sizeof(ones));
	expect_drop(tu_build(&p), 0, DP_DROP_UNEXPECTED_MSG);

	/* Per-job counters saw the refusals of job 1. */
	struct gw_stats js;

	CU_ASSERT_EQUAL(gw_job_stats_read(tu.gw, 1, &js), 0);
	CU_ASSERT(js.fate[DP_DROP_SOURCE_NOT_ADMITTED] >= 3);
	CU_ASSERT(js.fate[DP_DROP_SLOT_WRONG_SHARD] >= 1);
	CU_ASSERT_EQUAL(gw_job_stats_read(tu.gw, 99, &js), -ENOENT);
	m = NULL;
	RTE_SET_USED(m);
}

static void test_arp_request_for_us_is_answered(void)
{
	struct gw_stats before;
	struct tu_pkt p = { .ethertype = RTE_ETHER_TYPE_ARP };
	struct rte_mbuf *m;
	struct rte_arp_hdr *arp;
	const struct rte_arp_hdr *ra;

	tu_pkt_daitn(&p, 0, 1, 0, 0, 0, 0, 0, 0, NULL, 0);
	p.ethertype = RTE_ETHER_TYPE_ARP;
	m = tu_build(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = p.src_mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(TU_WORKER_IP(0));
	memset(&arp->arp_data.arp_tha, 0, 6);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(TU_GW_IP);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr =
		(struct rte_ether_addr){ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	tu_snap(&before);
	tu_inject(1, m);
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ARP_REPLIED), 1);
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].ethertype, RTE_ETHER_TYPE_ARP);
	CU_ASSERT_EQUAL(tu_out[0].queue, 1);
	ra = (const struct rte_arp_hdr *)(tu_out[0].frame + RTE_ETHER_HDR_LEN);
	CU_ASSERT_EQUAL(ra->arp_opcode, RTE_BE16(RTE_ARP_OP_REPLY));
	CU_ASSERT_EQUAL(ra->arp_data.arp_sip, rte_cpu_to_be_32(TU_GW_IP));
	CU_ASSERT_EQUAL(ra->arp_data.arp_tip, rte_cpu_to_be_32(TU_WORKER_IP(0)));
	CU_ASSERT(rte_is_same_ether_addr(&ra->arp_data.arp_sha, &tu.gw_mac));
	CU_ASSERT(rte_is_same_ether_addr(&ra->arp_data.arp_tha, &p.src_mac));
	CU_ASSERT(rte_is_same_ether_addr(&tu_out[0].eth.dst_addr, &p.src_mac));

	/* A request for another address is not ours to answer. */
	m = tu_build(&p);
	arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
	*arp = *ra;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(TU_GW_IP + 5);
	expect_drop(m, 0, DP_DROP_ARP_IGNORED);
}

static void test_icmp_echo_is_answered(void)
{
	struct gw_stats before;
	struct tu_pkt p;
	uint8_t data[8 + 32];
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)data;
	const struct rte_icmp_hdr *ri;

	memset(data, 0xab, sizeof(data));
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_code = 0;
	icmp->icmp_ident = RTE_BE16(77);
	icmp->icmp_seq_nb = RTE_BE16(3);
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(data, sizeof(data));
	tu_pkt_daitn(&p, 0, 1, 0, 0, 0, 0, 0, 0, data, sizeof(data) - 8);
	p.raw = true;
	p.ip_proto = IPPROTO_ICMP;
	p.payload = data;
	p.payload_size = sizeof(data) - 8;   /* the UDP header's 8 bytes are ICMP's too */
	tu_snap(&before);
	{
		struct rte_mbuf *m = tu_build(&p);
		uint8_t *l4 = rte_pktmbuf_mtod_offset(m, uint8_t *, 34);

		memcpy(l4, data, sizeof(data));
		tu_inject(0, m);
	}
	tu_poll();
	CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ICMP_REPLIED), 1);
	CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
	CU_ASSERT_EQUAL(tu_out[0].src_ip, TU_GW_IP);
	CU_ASSERT_EQUAL(tu_out[0].dst_ip, TU_WORKER_IP(0));
	CU_ASSERT_TRUE(tu_out[0].ip_csum_ok);
	ri = (const struct rte_icmp_hdr *)(tu_out[0].frame + 34);
	CU_ASSERT_EQUAL(ri->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	CU_ASSERT_EQUAL(ri->icmp_ident, RTE_BE16(77));
	CU_ASSERT_EQUAL(rte_raw_cksum(ri, sizeof(data)), 0xffff);
}

/* An echo request whose frame runs past the IP length (Ethernet padding) is
 * answered with exactly its IP datagram; one with a wrong ICMP sum is dropped. */
static void test_icmp_echo_is_trimmed_and_checked(void)
{
	struct gw_stats before;
	struct tu_pkt p;
	uint8_t data[8 + 8];
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)data;

	memset(data, 0x5c, sizeof(data));
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_code = 0;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(data, sizeof(data));
	for (int bad = 0; bad < 2; bad++) {
		struct rte_mbuf *m;

		tu_pkt_daitn(&p, 0, 1, 0, 0, 0, 0, 0, 0, data, sizeof(data) - 8);
		p.raw = true;
		p.ip_proto = IPPROTO_ICMP;
		m = tu_build(&p);
		memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, 34), data, sizeof(data));
		if (bad)
			rte_pktmbuf_mtod_offset(m, uint8_t *, 34)[9] ^= 1;
		/* 12 bytes of padding after the IP datagram. */
		memset(rte_pktmbuf_append(m, 12), 0xee, 12);
		tu_snap(&before);
		tu_inject(0, m);
		tu_poll();
		if (bad) {
			CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ICMP_BAD_CHECKSUM), 1);
			CU_ASSERT_EQUAL(tu_collect(), 0);
			continue;
		}
		CU_ASSERT_EQUAL(tu_fate_delta(&before, DP_DROP_ICMP_REPLIED), 1);
		CU_ASSERT_EQUAL_FATAL(tu_collect(), 1);
		CU_ASSERT_EQUAL(tu_out[0].len, 34 + sizeof(data));
		CU_ASSERT_TRUE(tu_out[0].ip_csum_ok);
		CU_ASSERT_EQUAL(rte_raw_cksum(tu_out[0].frame + 34, sizeof(data)), 0xffff);
	}
}

static CU_TestInfo tests[] = {
	{ "link_and_network_garbage_is_dropped", test_link_and_network_garbage_is_dropped },
	{ "udp_garbage_is_dropped", test_udp_garbage_is_dropped },
	{ "malformed_daitn_headers_are_dropped", test_malformed_daitn_headers_are_dropped },
	{ "refused_grads_are_counted_and_change_nothing",
	  test_refused_grads_are_counted_and_change_nothing },
	{ "arp_request_for_us_is_answered", test_arp_request_for_us_is_answered },
	{ "icmp_echo_is_answered", test_icmp_echo_is_answered },
	{ "icmp_echo_is_trimmed_and_checked", test_icmp_echo_is_trimmed_and_checked },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo tu_suite_gw_pkt = { "gw_pkt", NULL, NULL, NULL, NULL, tests };
