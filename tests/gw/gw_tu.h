/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test fixture for the gateway suites: one EAL (--no-huge --no-pci, unique
 * file prefix), one gateway with two shards (data lcores 1 and 2, never
 * launched: the test thread drives gw_lcore_poll() itself) on one net_ring
 * port created in-process with rte_eth_from_rings(), and a policy parsed
 * from JSON by the real policy loader.
 *
 * Workers: rank w of job j is 10.9.0.(11+w), UDP port 47100+j, MAC
 * 02:00:00:00:00:(w+1), pinned by the policy. The gateway is 10.9.0.1, UDP ports 47000..47001.
 * Jobs: 1 float32, 2 int32 (frac_bits 16), 3 bfloat16, 4 float16, each with
 * 4 workers and 1 KiB chunks; 5 float32 with 256 workers; 6 float32,
 * 7 bfloat16, 8 float16, deterministic, 4 workers; partial float32 jobs of
 * 4 workers: 9 with a quorum of 3, 10 with a 50 ms deadline and at least 2
 * ranks, 11 deterministic with a quorum of 3; 12 fedavg float32. The set-up
 * joins each of them (tu_join), so each has a run from round 0.
 *
 * Job TU_JOB_LEAF is a tree leaf (docs/protocol.md section 12): bfloat16, 4
 * workers n0..n3, and a "parent": node "up" (role gateway, TU_PARENT_IP,
 * MAC tu_parent_mac) at TU_PARENT_PORT, where this gateway is rank
 * TU_LEAF_RANK. Its run needs the parent's HELLO_ACK, which the tests play
 * (tu_leaf_join); the set-up does not join it.
 *
 * The gateway's clock is the fixture's: time passes only when a test says
 * so (tu_clock_advance_ms), never by sleeping.
 *
 * Everything here runs on the main thread, the only one calling CU_ASSERT.
 */
#ifndef GW_TU_H
#define GW_TU_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dp_proto.h"
#include "gw.h"

#define TU_GW_IP 0x0a090001u         /* 10.9.0.1 */
#define TU_WORKER_IP(w) (0x0a09000bu + (w))
#define TU_WORKER_PORT(job) ((uint16_t)(47100 + (job)))
#define TU_UDP_BASE 47000
#define TU_SHARDS 2
#define TU_OUT_MAX 600
#define TU_JOBS 12

/* Ranks of job 1 .. TU_JOBS. */
static inline uint16_t tu_job_workers(uint16_t job)
{
	return job == 5 ? 256 : 4;
}

/* Jobs 9 .. 11 are partial: their GRADs carry the ranks trailer. */
static inline bool tu_job_partial(uint16_t job)
{
	return job >= 9 && job <= 11;
}

/* Job 12 is a float32 fedavg job: its chunks end in a weight. */
#define TU_JOB_FEDAVG 12

/* The tree leaf and its parent gateway. */
#define TU_JOB_LEAF 20
#define TU_LEAF_WORKERS 4
#define TU_PARENT_IP 0x0a090301u     /* 10.9.3.1 */
#define TU_PARENT_PORT 46000         /* the parent's udp_port_base */
#define TU_LEAF_RANK 3               /* this gateway's rank in the parent's job */
_Static_assert(TU_JOB_LEAF > TU_JOBS + 1, "not one of the joined jobs, nor gw_auth's");

struct tu_gw {
	struct cp_gw_config cfg;
	struct gw *gw;
	uint16_t port_id;
	struct rte_ring *rx[TU_SHARDS];      /* what the gateway receives on queue k */
	struct rte_ring *tx[TU_SHARDS];      /* what it sends on queue k */
	struct rte_mempool *pool;
	struct rte_ether_addr gw_mac;
};

extern struct tu_gw tu;

/* A frame to build; fields in host byte order. */
struct tu_pkt {
	uint16_t ethertype;                  /* 0 = IPv4 */
	struct rte_ether_addr src_mac;
	uint32_t src_ip, dst_ip;
	uint8_t ip_proto;                    /* 0 = UDP */
	uint16_t sport, dport;
	bool raw;                            /* payload is the whole UDP payload */
	struct dp_proto_hdr h;
	const void *payload;
	size_t payload_size;
};

/* A frame the gateway sent, parsed. */
struct tu_out {
	unsigned queue;
	struct rte_ether_hdr eth;
	uint16_t ethertype;
	uint32_t src_ip, dst_ip;             /* host order */
	uint16_t sport, dport;
	bool ip_csum_ok;
	enum dp_proto_check check;           /* dp_proto_hdr_check() of the UDP payload */
	struct dp_proto_hdr h;
	uint8_t payload[DP_PROTO_CHUNK_SIZE_MAX + 256];   /* room for a ranks trailer */
	size_t payload_size;
	uint8_t frame[256];                  /* first bytes of the frame */
	size_t len;
};

extern struct tu_out tu_out[TU_OUT_MAX];

/* Fill p for a daitn message from rank w of job to the gateway. */
void tu_pkt_daitn(struct tu_pkt *p, uint8_t type, uint16_t job, uint16_t rank,
		  uint16_t slot, uint8_t dtype, uint16_t count, uint32_t offset, uint32_t round,
		  const void *payload, size_t payload_size);

struct rte_mbuf *tu_build(const struct tu_pkt *p);

/* Put m on RX queue `queue` of the gateway's port. */
void tu_inject(unsigned queue, struct rte_mbuf *m);

/* Send a GRAD to its shard's port and queue (slot index % 2); a partial
 * job's with the ranks trailer's room. */
void tu_grad(uint16_t job, uint16_t rank, uint16_t index, unsigned set, uint8_t dtype,
	     uint16_t count, uint32_t offset, uint32_t round, const void *payload);

/* Start the EAL and the gateway, apply the test policy, join every job:
 * 0, 77 (the EAL does not start here) or 1. Stop and clean up. The suites'
 * main() calls them; so does the frame fuzzer (built with TU_NO_MAIN). */
int tu_setup(void);
void tu_teardown(void);

/* The gateway's clock (gw_clock_set) stands still unless this moves it. */
void tu_clock_advance_ms(uint64_t ms);
void tu_clock_advance_us(uint64_t us);

/* The zero padding of HELLO and LEAVE (DP_PROTO_HELLO_PAD bytes). */
extern const uint8_t tu_hello_pad[DP_PROTO_HELLO_PAD];

/* HELLO from every rank 0..n_workers-1 of job (nonces nonce + rank), 50 us
 * apart on the gateway's clock, polling after each: the last starts a run. Returns its round_base, or UINT32_MAX
 * if no HELLO_ACK came. Collects (and discards) what the gateway sent. */
uint32_t tu_join(uint16_t job, uint16_t n_workers, uint32_t nonce);

/* Poll both shards until no packet moves (handoffs included). */
void tu_poll(void);

/* Drain both TX rings into tu_out[] (frames freed). Returns how many. */
unsigned tu_collect(void);

/* Snapshot of the summed counters, and the change of one fate since. */
void tu_snap(struct gw_stats *s);
uint64_t tu_fate_delta(const struct gw_stats *before, enum dp_drop d);
uint64_t tu_ev_delta(const struct gw_stats *before, enum gw_event e);

/* The test policy as JSON: version, job 3's slot_memory in KiB, whether job 4
 * is in it. The text lives in a static buffer until the next call. Node nW
 * (rank W's) is pinned to rank W's MAC while tu_policy_pin is true (the
 * default), so no ARP is needed; node "up" (the leaf's parent) is pinned to
 * tu_parent_mac while tu_parent_pin is true (the default). */
extern bool tu_policy_pin;
extern bool tu_parent_pin;
const char *tu_policy_make(unsigned version, unsigned job3_kib, bool job4);

/* Parse a policy from JSON and apply it; returns gw_policy_apply()'s rc. */
int tu_policy_apply(const char *json);

extern const struct rte_ether_addr tu_parent_mac;

/* Apply the test policy (version, job 3 at 256 KiB, job 4 in it) with the
 * leaf's slot_memory moved between 64 and 128 KiB: a changed job, so the
 * leaf starts afresh (no run, a new nonce toward its parent, empty slots);
 * the other jobs keep their state. Returns tu_policy_apply()'s rc. */
int tu_leaf_renew(unsigned version);

/* Fill p for a message of the leaf's parent: job TU_JOB_LEAF, rank
 * TU_LEAF_RANK, from TU_PARENT_IP, tu_parent_mac and port TU_PARENT_PORT, to
 * TU_UDP_BASE. */
void tu_pkt_parent(struct tu_pkt *p, uint8_t type, uint16_t slot, uint8_t dtype,
		   uint16_t count, uint32_t offset, uint32_t round, const void *payload,
		   size_t payload_size);

/* The job the parent describes in its HELLO_ACK: the leaf's dtype, chunk
 * size and frac_bits, 128 slots, 3 ranks, udp_port_base TU_PARENT_PORT,
 * n_shards and round_base as given. */
void tu_parent_job_info(struct dp_proto_job_info *ji, uint8_t n_shards, uint32_t round_base);

/* Start the leaf's run: HELLO from every local rank (nonces nonce + rank),
 * 10 ms apart, the parent's HELLO_ACK (ji) to the HELLO that went up, and
 * rank 0's HELLO again. Returns the round_base the workers were given, or
 * UINT32_MAX. Collects (and discards) what the gateway sent. */
uint32_t tu_leaf_join(uint32_t nonce, const struct dp_proto_job_info *ji);

#endif /* GW_TU_H */
