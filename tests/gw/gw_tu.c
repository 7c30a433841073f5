/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Gateway test fixture (gw_tu.h) and the runner of the 'eal' suites.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include <urcu-qsbr.h>

#include "cp_policy.h"
#include "gw_eal.h"
#include "gw_tu.h"
#include "kn_sum.h"

struct tu_gw tu;
struct tu_out tu_out[TU_OUT_MAX];

static char policy_buf[64 * 1024];
bool tu_policy_pin = true;
bool tu_parent_pin = true;
const struct rte_ether_addr tu_parent_mac = { { 0x02, 0, 0, 0, 0xbb, 0x01 } };
static unsigned leaf_kib = 64;      /* tu_leaf_renew() moves it */

/* Jobs 1..4: 4 workers, one per dtype. Job 5: float32, 256 workers.
 * Jobs 6..8: deterministic float32, bfloat16, float16, 4 workers. Jobs
 * 9..11: partial float32. Job 12: fedavg float32. Job TU_JOB_LEAF: a tree
 * leaf whose parent is node "up". */
const char *tu_policy_make(unsigned version, unsigned job3_kib, bool job4)
{
	static const char *const dtypes[] = {
		"", "float32", "int32", "bfloat16", "float16", "float32", "float32", "bfloat16",
		"float16", "float32", "float32", "float32", "float32",
	};
	static const char *const extra[] = {
		"", "", " \"frac_bits\": 16,", "", "", "", " \"deterministic\": true,",
		" \"deterministic\": true,", " \"deterministic\": true,",
		" \"completion\": {\"quorum\": 3},",
		" \"completion\": {\"deadline_ms\": 50, \"min_ranks\": 2},",
		" \"deterministic\": true, \"completion\": {\"quorum\": 3},",
		" \"mode\": \"fedavg\",",
	};
	size_t o = 0, n = sizeof(policy_buf);

	o += (size_t)snprintf(policy_buf + o, n - o, "{ \"version\": %u, \"nodes\": [", version);
	for (unsigned w = 0; w < 256; w++) {
		uint32_t ip = TU_WORKER_IP(w);

		char mac[48] = "";

		if (tu_policy_pin)
			snprintf(mac, sizeof(mac), ", \"mac\": \"02:00:00:00:%02x:%02x\"", w >> 8,
				 (w + 1) & 0xff);
		o += (size_t)snprintf(policy_buf + o, n - o,
				      "%s{\"id\": \"n%u\", \"ip\": \"%u.%u.%u.%u\", \"roles\": [\"worker\"]%s}",
				      w ? "," : "", w, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
				      ip & 255, mac);
	}
	o += (size_t)snprintf(policy_buf + o, n - o,
			      ", {\"id\": \"up\", \"ip\": \"%u.%u.%u.%u\", \"roles\": [\"gateway\"]",
			      TU_PARENT_IP >> 24, (TU_PARENT_IP >> 16) & 255, (TU_PARENT_IP >> 8) & 255,
			      TU_PARENT_IP & 255);
	if (tu_parent_pin)
		o += (size_t)snprintf(policy_buf + o, n - o,
				      ", \"mac\": \"%02x:%02x:%02x:%02x:%02x:%02x\"",
				      tu_parent_mac.addr_bytes[0], tu_parent_mac.addr_bytes[1],
				      tu_parent_mac.addr_bytes[2], tu_parent_mac.addr_bytes[3],
				      tu_parent_mac.addr_bytes[4], tu_parent_mac.addr_bytes[5]);
	o += (size_t)snprintf(policy_buf + o, n - o, "}], \"jobs\": [");
	for (unsigned j = 1; j <= TU_JOBS; j++) {
		unsigned nw = tu_job_workers((uint16_t)j);

		if (j == 4 && !job4)
			continue;
		o += (size_t)snprintf(policy_buf + o, n - o,
				      "%s{\"id\": %u, \"dtype\": \"%s\", \"chunk_size\": 1024, "
				      "\"slot_memory\": \"%uKiB\",%s \"workers\": [",
				      j > 1 ? "," : "", j, dtypes[j], j == 3 ? job3_kib : 256u,
				      extra[j]);
		for (unsigned w = 0; w < nw; w++)
			o += (size_t)snprintf(policy_buf + o, n - o,
					      "%s{\"rank\": %u, \"node\": \"n%u\", \"port\": %u}",
					      w ? "," : "", w, w, TU_WORKER_PORT(j));
		o += (size_t)snprintf(policy_buf + o, n - o, "]}");
	}
	o += (size_t)snprintf(policy_buf + o, n - o,
			      ", {\"id\": %u, \"dtype\": \"bfloat16\", \"chunk_size\": 1024, "
			      "\"slot_memory\": \"%uKiB\", \"parent\": {\"node\": \"up\", \"port\": %u, "
			      "\"rank\": %u}, \"workers\": [", TU_JOB_LEAF, leaf_kib, TU_PARENT_PORT,
			      TU_LEAF_RANK);
	for (unsigned w = 0; w < TU_LEAF_WORKERS; w++)
		o += (size_t)snprintf(policy_buf + o, n - o, "%s{\"node\": \"n%u\", \"port\": %u}",
				      w ? "," : "", w, TU_WORKER_PORT(TU_JOB_LEAF));
	snprintf(policy_buf + o, n - o, "]}]}");
	return policy_buf;
}

int tu_policy_apply(const char *json)
{
	struct cp_diags diags = { 0 };
	struct cp_limits lim;
	struct cp_policy *p;
	char err[256];
	int rc;

	cp_limits_from_config(&tu.cfg, &lim);
	rc = cp_policy_parse(json, strlen(json), "test-policy", &lim, &p, &diags);
	if (rc != 0) {
		cp_diags_print(&diags, stderr);
		cp_diags_free(&diags);
		return rc;
	}
	cp_diags_free(&diags);
	rc = gw_policy_apply(tu.gw, p, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "gw_policy_apply: %s\n", err);
		cp_policy_free(p);
	}
	return rc;
}

int tu_leaf_renew(unsigned version)
{
	leaf_kib = leaf_kib == 64 ? 128 : 64;
	return tu_policy_apply(tu_policy_make(version, 256, true));
}

void tu_pkt_daitn(struct tu_pkt *p, uint8_t type, uint16_t job, uint16_t rank,
		  uint16_t slot, uint8_t dtype, uint16_t count, uint32_t offset, uint32_t round,
		  const void *payload, size_t payload_size)
{
	memset(p, 0, sizeof(*p));
	p->src_mac = (struct rte_ether_addr){ { 0x02, 0, 0, 0, (uint8_t)(rank >> 8),
						(uint8_t)(rank + 1) } };
	p->src_ip = TU_WORKER_IP(rank);
	p->dst_ip = TU_GW_IP;
	p->sport = TU_WORKER_PORT(job);
	p->dport = (uint16_t)(TU_UDP_BASE + dp_proto_slot_index(slot) % TU_SHARDS);
	p->h = (struct dp_proto_hdr){
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = type, .job = job,
		.rank = rank, .slot = slot, .dtype = dtype, .count = count, .offset = offset,
		.round = round,
	};
	p->payload = payload;
	p->payload_size = payload_size;
}

void tu_pkt_parent(struct tu_pkt *p, uint8_t type, uint16_t slot, uint8_t dtype,
		   uint16_t count, uint32_t offset, uint32_t round, const void *payload,
		   size_t payload_size)
{
	tu_pkt_daitn(p, type, TU_JOB_LEAF, TU_LEAF_RANK, slot, dtype, count, offset, round,
		     payload, payload_size);
	p->src_mac = tu_parent_mac;
	p->src_ip = TU_PARENT_IP;
	p->sport = TU_PARENT_PORT;
	p->dport = TU_UDP_BASE;
}

void tu_parent_job_info(struct dp_proto_job_info *ji, uint8_t n_shards, uint32_t round_base)
{
	*ji = (struct dp_proto_job_info){
		.n_workers = 3, .chunk_size = 1024, .n_slots = 128,
		.udp_port_base = TU_PARENT_PORT, .n_shards = n_shards, .dtype = DP_DTYPE_BF16,
		.policy_version = 1, .round_base = round_base,
	};
}

struct rte_mbuf *tu_build(const struct tu_pkt *p)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(tu.pool);
	size_t l4 = p->raw ? p->payload_size : DP_PROTO_HDR_SIZE + p->payload_size;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint8_t *f;

	if (m == NULL)
		return NULL;
	f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_PROTO_L2_L4_SIZE + l4));
	eth = (struct rte_ether_hdr *)f;
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	udp = (struct rte_udp_hdr *)(ip + 1);
	eth->dst_addr = tu.gw_mac;
	eth->src_addr = p->src_mac;
	eth->ether_type = rte_cpu_to_be_16(p->ethertype ? p->ethertype : RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) + l4));
	ip->time_to_live = 64;
	ip->next_proto_id = p->ip_proto ? p->ip_proto : IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(p->src_ip);
	ip->dst_addr = rte_cpu_to_be_32(p->dst_ip);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(p->sport);
	udp->dst_port = rte_cpu_to_be_16(p->dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + l4));
	udp->dgram_cksum = 0;
	if (p->raw) {
		memcpy(udp + 1, p->payload, p->payload_size);
	} else {
		dp_proto_hdr_write(udp + 1, &p->h);
		if (p->payload_size)
			memcpy((uint8_t *)(udp + 1) + DP_PROTO_HDR_SIZE, p->payload, p->payload_size);
	}
	m->port = tu.port_id;
	return m;
}

void tu_inject(unsigned queue, struct rte_mbuf *m)
{
	if (m == NULL || rte_ring_enqueue(tu.rx[queue], m) != 0) {
		fprintf(stderr, "tu_inject: cannot inject\n");
		rte_pktmbuf_free(m);
	}
}

void tu_grad(uint16_t job, uint16_t rank, uint16_t index, unsigned set, uint8_t dtype,
	     uint16_t count, uint32_t offset, uint32_t round, const void *payload)
{
	static uint8_t buf[DP_PROTO_CHUNK_SIZE_MAX + 256];
	size_t size = count * dp_proto_dtype_size(dtype);
	struct tu_pkt p;

	if (tu_job_partial(job)) {
		memcpy(buf, payload, size);
		dp_proto_ranks_write(buf + size, tu_job_workers(job), 0, NULL);
		payload = buf;
		size += dp_proto_ranks_size(tu_job_workers(job));
	}
	tu_pkt_daitn(&p, DP_MSG_GRAD, job, rank, dp_proto_slot_make(index, set), dtype, count,
		     offset, round, payload, size);
	if (tu_job_partial(job))
		p.h.flags = DP_PROTO_FLAG_RANKS;
	tu_inject(index % TU_SHARDS, tu_build(&p));
}

/* The gateway's clock: TSC cycles that only tu_clock_advance_ms() moves. */
static uint64_t tu_tsc;

static uint64_t tu_clock_read(void *arg)
{
	RTE_SET_USED(arg);
	return __atomic_load_n(&tu_tsc, __ATOMIC_RELAXED);
}

void tu_clock_advance_us(uint64_t us)
{
	__atomic_store_n(&tu_tsc, tu_tsc + rte_get_tsc_hz() / 1000000u * us, __ATOMIC_RELAXED);
}

void tu_clock_advance_ms(uint64_t ms)
{
	tu_clock_advance_us(ms * 1000u);
}

const uint8_t tu_hello_pad[DP_PROTO_HELLO_PAD];

uint32_t tu_join(uint16_t job, uint16_t n_workers, uint32_t nonce)
{
	uint32_t base = UINT32_MAX;

	for (uint16_t r = 0; r < n_workers; r++) {
		struct tu_pkt p;

		tu_pkt_daitn(&p, DP_MSG_HELLO, job, r, 0, 0, 0, 0, nonce + r, tu_hello_pad,
			     DP_PROTO_HELLO_PAD);
		/* 50 us apart: within the gateway's reply rate (20000/s). */
		tu_clock_advance_us(50);
		p.dport = TU_UDP_BASE;
		tu_inject(0, tu_build(&p));
		tu_poll();
		/* Every rank but the last is told to wait; the last starts the run. */
		for (unsigned i = 0, n = tu_collect(); i < n; i++) {
			struct dp_proto_job_info ji;

			if (tu_out[i].h.type != DP_MSG_HELLO_ACK)
				continue;
			dp_proto_job_info_read(tu_out[i].payload, &ji);
			base = ji.round_base;
		}
	}
	return base;
}

/* A HELLO of the leaf's rank r (nonce), 10 ms after the last: within the
 * gateway's reply rate for one source, and past the leaf's gap between two
 * HELLOs up. Returns the nonce of the HELLO that went up (0: none) and the
 * round_base of a HELLO_ACK to the rank (UINT32_MAX: none). */
static uint32_t leaf_hello(uint16_t r, uint32_t nonce, uint32_t *base)
{
	uint32_t up = 0;
	struct tu_pkt p;

	tu_pkt_daitn(&p, DP_MSG_HELLO, TU_JOB_LEAF, r, 0, 0, 0, 0, nonce, tu_hello_pad,
		     DP_PROTO_HELLO_PAD);
	p.dport = TU_UDP_BASE;
	tu_clock_advance_ms(10);
	tu_inject(0, tu_build(&p));
	tu_poll();
	*base = UINT32_MAX;
	for (unsigned i = 0, n = tu_collect(); i < n; i++) {
		struct dp_proto_job_info ji;

		if (tu_out[i].check != DP_PROTO_CHECK_OK)
			continue;
		if (tu_out[i].h.type == DP_MSG_HELLO && tu_out[i].dst_ip == TU_PARENT_IP)
			up = tu_out[i].h.round;
		if (tu_out[i].h.type == DP_MSG_HELLO_ACK && tu_out[i].dst_ip == TU_WORKER_IP(r)) {
			dp_proto_job_info_read(tu_out[i].payload, &ji);
			*base = ji.round_base;
		}
	}
	return up;
}

uint32_t tu_leaf_join(uint32_t nonce, const struct dp_proto_job_info *ji)
{
	uint8_t info[sizeof(*ji)];
	uint32_t up = 0, base;
	struct tu_pkt p;

	for (uint16_t r = 0; r < TU_LEAF_WORKERS; r++) {
		uint32_t asked = leaf_hello(r, nonce + r, &base);

		if (asked != 0)
			up = asked;
	}
	if (up == 0)
		return UINT32_MAX;
	dp_proto_job_info_write(info, ji);
	tu_pkt_parent(&p, DP_MSG_HELLO_ACK, 0, ji->dtype, 0, 0, up, info, sizeof(info));
	tu_inject(0, tu_build(&p));
	tu_poll();
	tu_collect();
	leaf_hello(0, nonce, &base);
	return base;
}

void tu_poll(void)
{
	for (int idle = 0; idle < 2;) {
		unsigned n = 0;

		for (unsigned k = 0; k < TU_SHARDS; k++)
			n += gw_lcore_poll(gw_lcore_get(tu.gw, k));
		rcu_quiescent_state();
		idle = n == 0 ? idle + 1 : 0;
	}
}

static void out_parse(struct tu_out *o, unsigned queue, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *udp;
	uint8_t frame[DP_PROTO_FRAME_HDR_SIZE + DP_PROTO_CHUNK_SIZE_MAX + 64];
	size_t udp_len;

	memset(o, 0, offsetof(struct tu_out, payload));
	o->queue = queue;
	o->len = RTE_MIN((size_t)m->pkt_len, sizeof(frame));
	/* Result copies are chains: header mbuf + external buffer. The read
	 * copies only when the bytes span segments; use what it returns. */
	eth = rte_pktmbuf_read(m, 0, (uint32_t)o->len, frame);
	memcpy(o->frame, eth, RTE_MIN(o->len, sizeof(o->frame)));
	o->eth = *eth;
	o->ethertype = rte_be_to_cpu_16(eth->ether_type);
	o->check = DP_PROTO_CHECKS;
	if (o->ethertype != RTE_ETHER_TYPE_IPV4)
		return;
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	o->src_ip = rte_be_to_cpu_32(ip->src_addr);
	o->dst_ip = rte_be_to_cpu_32(ip->dst_addr);
	o->ip_csum_ok = rte_raw_cksum(ip, sizeof(*ip)) == 0xffff &&
			rte_be_to_cpu_16(ip->total_length) + sizeof(*eth) == o->len;
	if (ip->next_proto_id != IPPROTO_UDP)
		return;
	udp = (const struct rte_udp_hdr *)(ip + 1);
	o->sport = rte_be_to_cpu_16(udp->src_port);
	o->dport = rte_be_to_cpu_16(udp->dst_port);
	udp_len = rte_be_to_cpu_16(udp->dgram_len) - sizeof(*udp);
	o->check = dp_proto_hdr_check(udp + 1, udp_len, &o->h);
	if (o->check == DP_PROTO_CHECK_OK) {
		o->payload_size = udp_len - DP_PROTO_HDR_SIZE;
		memcpy(o->payload, (const uint8_t *)(udp + 1) + DP_PROTO_HDR_SIZE, o->payload_size);
	}
}

unsigned tu_collect(void)
{
	struct rte_mbuf *m;
	unsigned n = 0;

	for (unsigned k = 0; k < TU_SHARDS; k++)
		while (rte_ring_dequeue(tu.tx[k], (void **)&m) == 0) {
			if (n < TU_OUT_MAX)
				out_parse(&tu_out[n++], k, m);
			rte_pktmbuf_free(m);
		}
	return n;
}

void tu_snap(struct gw_stats *s)
{
	gw_stats_read(tu.gw, -1, s);
}

uint64_t tu_fate_delta(const struct gw_stats *before, enum dp_drop d)
{
	struct gw_stats now;

	tu_snap(&now);
	return now.fate[d] - before->fate[d];
}

uint64_t tu_ev_delta(const struct gw_stats *before, enum gw_event e)
{
	struct gw_stats now;

	tu_snap(&now);
	return now.ev[e] - before->ev[e];
}

int tu_setup(void)
{
	char prefix[64];
	char *eal_argv[] = {
		"test_gw", "--no-huge", "--no-pci", "-m", "256", "--lcores", "0@0,1@0,2@0",
		"--main-lcore", "0", "--file-prefix", prefix, "--log-level", "lib.eal:error", NULL,
	};
	char name[32];
	uint16_t port;

	snprintf(prefix, sizeof(prefix), "gwtest-%d", (int)getpid());
	if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0) {
		fprintf(stderr, "test_gw: SKIP: the EAL does not start here (%s)\n",
			rte_strerror(rte_errno));
		return 77;
	}
	if (kn_init(KN_ISA_AUTO) != 0)
		return 1;
	tu.pool = rte_pktmbuf_pool_create("tu_pool", 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE * 5,
					  (int)rte_socket_id());
	for (unsigned k = 0; k < TU_SHARDS && tu.pool != NULL; k++) {
		snprintf(name, sizeof(name), "tu_rx%u", k);
		tu.rx[k] = rte_ring_create(name, 1024, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "tu_tx%u", k);
		tu.tx[k] = rte_ring_create(name, 2048, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (tu.rx[k] == NULL || tu.tx[k] == NULL)
			return 1;
	}
	if (tu.pool == NULL ||
	    rte_eth_from_rings("gwtest", tu.rx, TU_SHARDS, tu.tx, TU_SHARDS,
			       rte_socket_id()) < 0)
		return 1;

	memset(&tu.cfg, 0, sizeof(tu.cfg));
	tu.cfg.n_ports = 1;
	snprintf(tu.cfg.ports[0].name, sizeof(tu.cfg.ports[0].name), "ring0");
	snprintf(tu.cfg.ports[0].device, sizeof(tu.cfg.ports[0].device), "net_ring_gwtest");
	tu.cfg.ports[0].ip = TU_GW_IP;
	tu.cfg.main_lcore = 0;
	tu.cfg.n_data_lcores = TU_SHARDS;
	tu.cfg.data_lcores[0] = 1;
	tu.cfg.data_lcores[1] = 2;
	tu.cfg.udp_port = TU_UDP_BASE;
	tu.cfg.mbufs = 2048;
	tu.cfg.burst = 32;
	tu.cfg.slot_memory = 4 << 20;

	tu.gw = gw_create(&tu.cfg);
	if (tu.gw == NULL)
		return 1;
	tu_tsc = rte_get_tsc_hz() * 1000u;   /* an arbitrary start: 1000 s */
	gw_clock_set(tu.gw, tu_clock_read, NULL);
	if (gw_ports_start(tu.gw, &port) != 0)
		return 1;
	tu.port_id = port;
	rte_eth_macaddr_get(port, &tu.gw_mac);
	rcu_register_thread();
	if (tu_policy_apply(tu_policy_make(7, 256, true)) != 0)
		return 1;
	/* Every job's first run, from round 0, for the suites that send GRADs. */
	for (uint16_t job = 1; job <= TU_JOBS; job++)
		if (tu_join(job, tu_job_workers(job), 1000u * job) != 0)
			return 1;
	return 0;
}

void tu_teardown(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	tu_poll();
	tu_collect();
	gw_ports_stop(tu.gw);
	gw_destroy(tu.gw);
	rcu_unregister_thread();
	rte_eal_cleanup();
	gw_eal_runtime_dir_remove(dir);
}

#ifndef TU_NO_MAIN
extern CU_SuiteInfo tu_suite_gw_pkt, tu_suite_gw_agg, tu_suite_gw_hello, tu_suite_gw_tables;
extern CU_SuiteInfo tu_suite_gw_cp, tu_suite_gw_neigh, tu_suite_gw_auth, tu_suite_gw_tree;

int main(void)
{
	unsigned failures;
	int rc = tu_setup();

	if (rc != 0) {
		/* Leave no runtime directory behind, whatever stage failed. */
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
		if (strstr(dir, "/gwtest-") != NULL)
			gw_eal_runtime_dir_remove(dir);
		fprintf(stderr, "test_gw: set-up failed (%d)\n", rc);
		return rc;
	}
	CU_SuiteInfo suites[] = {
		tu_suite_gw_pkt, tu_suite_gw_agg, tu_suite_gw_hello, tu_suite_gw_tables,
		/* gw_tree last: it moves job 2's run. */
		tu_suite_gw_cp, tu_suite_gw_neigh, tu_suite_gw_auth, tu_suite_gw_tree,
		CU_SUITE_INFO_NULL,
	};
	if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(suites) != CUE_SUCCESS)
		return 1;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	/* A suite whose set-up failed ran no test: that fails too. */
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		   CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	tu_teardown();
	return failures != 0;
}
#endif /* TU_NO_MAIN */
