/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw internals, shared by the files of dataplane/gw only.
 *
 * Ownership: struct gw and its ports belong to the main thread. A struct
 * gw_lcore belongs to its data lcore except for the fields marked "main";
 * its counters are written by the lcore alone (relaxed atomic stores) and read
 * by anyone. Job tables (struct gw_tables) are immutable once published; the
 * per-lcore state of a job (struct gw_job_lc) belongs to that lcore, apart
 * from the atomics marked "any".
 */
#ifndef GW_PRIV_H
#define GW_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_reciprocal.h>
#include <rte_ring.h>

#include "dp_auth.h"
#include "dp_proto.h"
#include "kn_sum.h"
#include "dp_slot.h"
#include "gw.h"
#include "gw_infer.h"

/* gw_cp.h: the control plane's run-time pieces (rate limits, liveness). */
struct gw_cp;
struct gw_cp_lc;
struct gw_cp_tables;

#define GW_BURST_MAX 256
#define GW_TXBUF_SIZE 512        /* result copies buffered per port per lcore */
#define GW_HANDOFF_RING 4096     /* packets in flight to one lcore */
#define GW_RXD 1024
#define GW_TXD 1024
#define GW_HDR_SIZE DP_PROTO_FRAME_HDR_SIZE   /* 64: Eth/IP/UDP/daitn */
#define GW_SPARE_BUFS 8          /* extra result buffers per job and lcore */

extern int gw_logtype;
#define GW_LOG(level, ...) rte_log(RTE_LOG_##level, gw_logtype, "daitn-gw: " __VA_ARGS__)

/* Single-writer counter bump: a relaxed load and store, no locked add. */
static inline void gw_cnt_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t gw_cnt_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* A bound Ethernet address in one 64-bit word, so a reader sees a whole one:
 * bit 63 valid, bits 48..55 the gateway port index, bits 0..47 the address
 * (its bytes in memory order). 0: not bound. */
#define GW_MAC_VALID (1ull << 63)
#define GW_MAC_PINNED (1ull << 62)          /* only in gw_neigh_word()'s answer */
#define GW_MAC_ADDR_MASK ((1ull << 48) - 1)

static inline uint64_t gw_mac_word(const uint8_t addr[RTE_ETHER_ADDR_LEN], unsigned port)
{
	uint64_t w = 0;

	memcpy(&w, addr, RTE_ETHER_ADDR_LEN);
	return GW_MAC_VALID | (uint64_t)port << 48 | w;
}

static inline unsigned gw_mac_port(uint64_t w)
{
	return (unsigned)(w >> 48) & 0xff;
}

/* One neighbour (gw_neigh.c): a policy node's address and what it is bound
 * to. ip_be is set once by the control thread; word by an lcore's ARP
 * compare-and-swap or by the control thread (pins, reloads). */
struct gw_neigh {
	_Atomic uint32_t ip_be;         /* 0: free slot */
	_Atomic uint64_t word;          /* GW_MAC_* word, 0 while unresolved */
	_Atomic uint64_t pin;           /* GW_MAC_VALID | the policy's "mac", or 0 */
	_Atomic uint64_t asked;         /* gw_now() | 1 of shard 0's last request, 0 never
					   (compare its time as asked & ~1) */
	_Atomic uint32_t want;          /* any lcore: a frame from it waits (ask soon) */
	uint32_t tries;                 /* shard 0: requests unanswered (backoff) */
	_Atomic uint64_t conflicts;     /* ARPs naming another address once bound */
	_Atomic uint64_t conflict_mac;  /* GW_MAC_* word of the latest of them */
	uint64_t conflicts_seen;        /* main: conflicts at the last policy */
	uint64_t gen;                   /* main: the newest tables that name it */
};
#define GW_NEIGH_BITS 17
#define GW_NEIGH_MAX (1u << GW_NEIGH_BITS)      /* 2 x CP_NODES_MAX */

/* Kernels for one element type: kn_ops_get()'s variant, chosen at creation. */
struct gw_kern {
	const struct kn_ops *ops;
	uint8_t esize;                  /* wire bytes per element */
};

struct gw_port {
	uint16_t id;                    /* ethdev port id */
	uint32_t ip_be;                 /* our address, network order */
	struct rte_ether_addr mac;
	bool hw_steer;                  /* rte_flow rules steer shard ports to queues */
	uint64_t tx_offloads;
	const struct cp_port_cfg *cfg;
	int ifindex;                    /* net_af_packet: its interface, else 0 */
	uint64_t kernel_drops;          /* ctl_lock: gw_port_kernel_drops() */
};

/* One accumulator / result buffer. The slot set holds one reference; each
 * RESULT copy in flight holds one more (external-buffer mbufs). */
struct gw_buf {
	uint8_t *data;                  /* buf_size bytes, 64-byte aligned */
	rte_iova_t iova;
	struct rte_mbuf_ext_shared_info shinfo;
};

/* What one lcore learned about a rank from its packets, and the L2-L4 header
 * of results to it, prebuilt when that changes. */
struct gw_peer {
	/* Eth/IPv4/UDP/daitn RESULT header for this rank: lengths, checksum
	 * and the per-result fields (slot .. round) are filled per copy. */
	uint8_t tmpl[DP_PROTO_FRAME_HDR_SIZE] __rte_aligned(64);
	uint32_t ip_csum;                   /* IPv4 header sum without total_length */
	uint16_t port;                      /* index into gw->ports */
	bool known;
} __rte_cache_aligned;

/* Per-lcore state of one job instance. */
struct gw_job_lc {
	struct dp_slot_table slots;     /* local index = slot index / n_shards */
	uint32_t n_local;
	uint32_t n_bufs;
	struct gw_buf *bufs;
	struct gw_buf **free_bufs;      /* stack of buffers no set holds */
	uint32_t n_free;
	struct gw_buf **busy;           /* released by a set, still held by TX */
	uint32_t n_busy;
	struct gw_peer *peers;          /* n_workers */
	_Atomic uint32_t max_round;     /* any: newest round of a use (serial order) */
	_Atomic uint32_t seen_any;      /* any: max_round is valid */
	_Atomic uint32_t done_round;    /* any: newest round a use completed with */
	_Atomic uint32_t done_any;      /* any: done_round is valid */
	uint64_t fate[DP_DROP_MAX];     /* this job's fates on this lcore */
	uint64_t abandoned;
	/* Deterministic jobs (gw_job.ordered): per set, n_workers entries by
	 * rank, the contributions that arrived before a lower rank's and wait
	 * for their turn in the rank-order fold (data_off at the payload);
	 * NULL otherwise. The set's `aux` is its fold cursor: the lowest rank
	 * not yet folded into the accumulator. */
	struct rte_mbuf **held;
	uint64_t held_total;            /* contributions held so far (telemetry) */
	uint32_t held_run;              /* the run they belong to: its id + 1, 0 none */
	/* Partial jobs (telemetry): uses closed early by their quorum or
	 * their deadline, contributions that came after their use closed. */
	uint64_t closed_quorum;
	uint64_t closed_deadline;
	uint64_t late;
	/* Per rank (n_workers each): uses it completed (it came last), and
	 * uses that closed without it. */
	uint64_t *last;
	uint64_t *missing;
	/* A tree leaf (gw_job.up, gw_tree.c): uses' sums sent to the parent,
	 * sent again for a worker's retransmission, and not sent (no mbuf,
	 * or the parent's address not resolved: the next retransmission
	 * tries again). */
	uint64_t up_sent;
	uint64_t up_resent;
	uint64_t up_lost;
	struct gw_lcore *lc;            /* the owner, whose hold budget they use */
	uint64_t charge;                /* bytes charged to the lcore's slot memory */
	void *mem;                      /* the rte_malloc block holding all of it */
};

/*
 * A job's run (docs/protocol.md, section 6), in one word that every lcore
 * reads per GRAD: bit 63 is set while a run is on, bits 32..62 number the
 * runs, bits 0..31 are the run's round_base. A GRAD counts only while a run
 * is on and its round is in [round_base, round_base + GW_RUN_WINDOW).
 */
#define GW_RUN_ON (1ull << 63)
#define GW_RUN_WINDOW (1u << 30)

static inline bool gw_run_on(uint64_t run)
{
	return (run & GW_RUN_ON) != 0;
}

static inline uint32_t gw_run_base(uint64_t run)
{
	return (uint32_t)run;
}

static inline uint32_t gw_run_id(uint64_t run)
{
	return (uint32_t)(run >> 32) & 0x7fffffffu;
}

/* The newest round a worker of the run may send, as far as lcore state jl
 * knows: one past the newest round completed there, or the run's base. */
static inline uint32_t gw_run_next(const struct gw_job_lc *jl, uint32_t base)
{
	uint32_t next = atomic_load_explicit(&jl->done_round, memory_order_acquire) + 1;

	if (!atomic_load_explicit(&jl->done_any, memory_order_relaxed) ||
	    (int32_t)(next - base) < 0)
		return base;
	return next;
}

/* Who has joined the job's forming or current run. Written only by the
 * lcore of shard 0, which alone answers HELLOs (they go to udp_port_base). */
struct gw_join {
	uint32_t *nonce;                /* per rank: its process's HELLO round */
	uint64_t *heard;                /* per rank: gw_now() of its last HELLO */
	uint8_t *in;                    /* per rank: 1 when it joined */
	uint64_t *floor;                /* per rank: a child gateway's floor for the
					   run's base | GW_JOIN_FLOOR, 0 none */
	uint64_t swept;                 /* gw_now() of the last sweep of stale joins */
	_Atomic uint32_t n_in;          /* any (gauge): ranks that joined */
	uint64_t runs_ended;            /* runs ended by a rank's new process */
	/* Keyed jobs: the nonces each rank used before its current one, so
	 * that a replayed HELLO of an old process cannot end a run. */
	uint32_t *old_nonce;            /* per rank: GW_JOIN_OLD_NONCES, newest last */
	uint8_t *n_old;                 /* per rank: entries in use */
};
#define GW_JOIN_OLD_NONCES 4u
#define GW_JOIN_FLOOR (1ull << 32)

/*
 * A tree leaf's standing with its parent gateway (gw_tree.c): this gateway
 * joins the parent's job as one rank, as a worker process would, and its
 * local run is that join: the parent's round_base is its workers'. The
 * nonce names the local run toward the parent; a new local run (a local
 * rank's new process, or the parent's run ending) takes a new one. Written
 * by shard 0's lcore (it alone answers HELLOs and receives the parent's
 * answers); the fields marked "any" are read by every lcore, after the run
 * word that the ACK's round_base starts.
 */
struct gw_up {
	uint32_t nonce;                 /* this gateway's current process toward the parent */
	bool acked;                     /* the parent ACKed nonce with base below */
	uint32_t base;                  /* the parent's round_base for nonce */
	bool floored;                   /* the last HELLO up asked for a floor: */
	uint32_t floor;
	_Atomic uint16_t p_port;        /* any: the parent's udp_port_base (host order) */
	_Atomic uint8_t p_shards;       /* any: its data lcores (0: no ACK yet) */
	uint64_t asked;                 /* gw_now() of the last HELLO sent up */
	/* Telemetry (relaxed): HELLOs sent up, the parent's answers, and the
	 * local runs the parent's end of run ended. */
	uint64_t hellos;
	uint64_t acks;
	uint64_t waits;
	uint64_t refusals;
	uint64_t runs_ended;
	uint16_t wait_joined;           /* the parent's last HELLO_WAIT: its ranks in */
	uint16_t wait_workers;
	uint16_t refused_code;          /* its last refusal (0: none), and its text */
	char refused[64];
};

/* A job's state that survives reloads while cp_job_same() holds. */
struct gw_job_inst {
	struct cp_job cfg;              /* deep copy (workers below) */
	struct cp_worker *workers;
	_Atomic uint64_t run;           /* any: see GW_RUN_ON */
	_Atomic uint64_t salt;          /* any: the run's tag context (stored before run) */
	struct gw_join join;
	struct gw_up up;                /* a tree leaf's (gw_job.up) */
	uint64_t gen;                   /* newest table generation using it (main) */
	unsigned n_lc;
	struct gw_job_lc *lc[];         /* per shard */
};

struct gw_addr {
	uint32_t ip_be;
	uint16_t port_be;
	uint32_t neigh;                 /* index into gw->neigh */
};

/* A job as the lcores see it in one table version. Immutable. */
struct gw_job {
	uint16_t id;
	uint8_t dtype;
	uint8_t frac_bits;
	uint16_t chunk_size;            /* payload bytes */
	uint16_t n_workers;
	uint32_t n_slots;
	uint32_t acc_size;              /* bytes per accumulator (slot memory) */
	uint32_t buf_size;              /* ... and after it a partial job's trailer */
	bool partial;                   /* closes early (docs/protocol.md section 5) */
	uint16_t min_ranks;             /* a deadline closes a use with at least these */
	uint16_t ranks_size;            /* the ranks trailer's bytes, 0 if not partial */
	uint64_t deadline;              /* gw_now() cycles after a use's first
					   contribution that it may close; 0: never */
	const struct gw_kern *k;
	struct gw_addr *workers;        /* by rank */
	struct gw_job_inst *inst;
	bool keyed;                     /* messages carry tags (dp_auth.h) */
	bool ordered;                   /* "deterministic" float job: fold in rank order */
	bool fedavg;                    /* "mode": "fedavg": chunks end in a weight */
	bool up;                        /* a tree leaf: sums go to the parent (gw_tree.c) */
	uint16_t up_rank;               /* this gateway's rank in the parent's job */
	struct gw_addr up_addr;         /* the parent: ip, udp_port_base, neighbour */
	struct dp_auth_key key;
};

#define GW_PAGES 256
struct gw_tables {
	uint64_t gen;
	uint64_t version;               /* the policy's */
	struct cp_policy *policy;
	struct gw_infer_tables *infer;  /* inference and TX scheduling (gw_infer.h) */
	struct gw_cp_tables *cp;        /* rate limits, node liveness (gw_cp.h) */
	uint32_t *node_neigh;           /* by policy node: index into gw->neigh */
	uint32_t n_jobs;
	struct gw_job *jobs;
	struct gw_job **pages[GW_PAGES];    /* job id >> 8 -> 256 entries, or NULL */
};

/* Bytes after a GRAD's or RESULT's header and tag: its count elements,
 * and a partial job's ranks trailer. */
static inline uint32_t gw_job_payload_bytes(const struct gw_job *job, uint16_t count)
{
	return (uint32_t)count * job->k->esize + job->ranks_size;
}

static inline const struct gw_job *gw_tables_job(const struct gw_tables *t, uint16_t id)
{
	struct gw_job **page = t->pages[id >> 8];

	return page != NULL ? page[id & 0xff] : NULL;
}

struct gw_txbuf {
	uint16_t n;
	struct rte_mbuf *m[GW_TXBUF_SIZE];
};

struct gw_lcore {
	struct gw *gw;
	unsigned shard;                 /* = RX/TX queue index */
	unsigned lcore_id;
	uint16_t burst;
	uint32_t idle_after;            /* empty polls before sleeping; 0: busy polling */
	uint32_t idle_max_ns;           /* longest sleep between empty polls */
	struct rte_mempool *rx_pool;    /* RX queues of this shard */
	struct rte_mempool *hdr_pool;   /* 64-byte result headers */
	struct rte_mempool *ext_pool;   /* zero-room mbufs for external buffers */
	/* This lcore's caches of hdr_pool and ext_pool, looked up once: the
	 * per-call lookup goes through rte_lcore_id(), a TLS access. */
	struct rte_mempool_cache *hdr_cache;
	struct rte_mempool_cache *ext_cache;
	struct rte_ring *handoff;       /* MP/SC: packets for this shard */
	struct gw_infer_lc *infer;      /* inference and TX scheduling (gw_infer.h) */
	struct gw_cp_lc *cp;            /* version note, token buckets (gw_cp.h) */
	/* Contributions of deterministic jobs held for their rank's turn:
	 * held counts them, held_gone those freed with a retired job
	 * instance (by the main thread); held_max bounds the difference so
	 * that holds never drain the RX pools. */
	uint32_t held;
	_Atomic uint32_t held_gone;     /* main adds, the lcore reads */
	uint32_t held_max;
	uint64_t slot_capacity;         /* main: bytes of slot memory */
	uint64_t slot_committed;        /* main: bytes charged by the current tables */
	struct gw_stats cnt __rte_cache_aligned;
	struct gw_txbuf tx[CP_PORTS_MAX] __rte_cache_aligned;
};

struct gw {
	const struct cp_gw_config *cfg;
	unsigned n_ports;
	struct gw_port ports[CP_PORTS_MAX];
	bool ports_started;
	uint8_t port_idx[RTE_MAX_ETHPORTS];     /* ethdev id -> index, 0xff none */
	unsigned n_lcores;
	struct gw_lcore *lcores[CP_LCORES_MAX];
	uint16_t udp_base;
	struct rte_reciprocal shard_recip;      /* divides by n_lcores without div */
	struct gw_kern kern[5];                 /* by DP_DTYPE_* */
	struct gw_tables *tables;               /* RCU-published */
	struct gw_infer *infer;                 /* gw_infer.h */
	struct gw_cp *cp;                       /* control-plane run time (gw_cp.h) */
	struct gw_neigh *neigh;                 /* [GW_NEIGH_MAX], open addressing by IP */
	uint32_t n_neigh;                       /* main: entries in use */
	uint64_t neigh_scan;                    /* shard 0: gw_now() of the last scan */
	uint32_t neigh_cursor;                  /* shard 0: next policy node to look at */
	gw_clock_fn clock;                      /* NULL: rte_rdtsc() (gw_clock_set) */
	int64_t realtime_off_ms;                /* wall clock (ms) - gw_now() in ms */
	void *clock_arg;
	pthread_mutex_t ctl_lock;               /* control threads: apply, telemetry */
	uint64_t gen;                           /* last table generation built */
	atomic_bool stop;
	bool launched;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	char last_reload[256];
	struct gw_job_inst **zombies;           /* retired, waiting for TX refs */
	unsigned n_zombies;
};

/* The gateway's clock in TSC cycles (gw_clock_set()). Per poll or event,
 * not per packet. */
static inline uint64_t gw_now(const struct gw *gw)
{
	return unlikely(gw->clock != NULL) ? gw->clock(gw->clock_arg) : rte_rdtsc();
}

/*
 * A frame's source against the neighbour entry idx of its sender's IP: the
 * bound address on the bound port, or a drop reason. One load and compare.
 */
static inline enum dp_drop gw_neigh_check(const struct gw *gw, uint32_t idx,
					  const struct rte_ether_addr *src, unsigned port)
{
	uint64_t w = atomic_load_explicit(&gw->neigh[idx].word, memory_order_relaxed);

	if (likely(w == gw_mac_word(src->addr_bytes, port)))
		return DP_DROP_NONE;
	if (w != 0)
		return DP_DROP_SRC_MAC_MISMATCH;
	if (!atomic_load_explicit(&gw->neigh[idx].want, memory_order_relaxed))
		atomic_store_explicit(&gw->neigh[idx].want, 1, memory_order_relaxed);
	return DP_DROP_NEIGH_UNRESOLVED;
}

/* gw_neigh.c: the table's memory (gw_create/gw_destroy). */
int gw_neigh_init(struct gw *gw);
void gw_neigh_fini(struct gw *gw);

/* gw_neigh.c, main under ctl_lock: an entry for every node of t's policy
 * (created when new), indexes in t->node_neigh. 0, or -ENOMEM / -ENOSPC
 * with err set. Changes no binding. */
int gw_neigh_bind(struct gw *gw, struct gw_tables *t, char *err, size_t err_size);

/* gw_neigh.c, main under ctl_lock, once t is accepted: apply its pins (and
 * unbind unpinned nodes that saw a conflict, to resolve them again). */
void gw_neigh_pin(struct gw *gw, const struct gw_tables *t);

/* gw_neigh.c, any data lcore: an ARP frame (eth, arp) received on port: a
 * reply to our own recent request binds the entry it names; any ARP naming
 * another address for a bound or pinned node is counted as a conflict.
 * Returns the fate (for a request to our address the caller answers it
 * whatever this returns). */
struct rte_arp_hdr;
enum dp_drop gw_neigh_arp(struct gw_lcore *lc, const struct rte_ether_hdr *eth,
			  const struct rte_arp_hdr *arp, unsigned port);

/* gw_neigh.c, per poll of any lcore (only shard 0 acts): ARP requests for
 * unresolved nodes of t: at once, then backing off from 1 s to 64 s, and
 * again after 1 s when a frame from the node waits (gw_neigh_check); at
 * most 8000 nodes a second. */
void gw_neigh_poll(struct gw_lcore *lc, const struct gw_tables *t);

/* gw_neigh.c, any thread holding t: the GW_MAC_* word of policy node `node`
 * (GW_MAC_PINNED added when pinned) and its conflict count. */
uint64_t gw_neigh_word(const struct gw *gw, const struct gw_tables *t, uint32_t node,
		       uint64_t *conflicts);

/* The wall clock in ms since the epoch, on the gateway's clock (so that
 * gw_clock_set() moves it too): for the times a keyed job's HELLO and a
 * keyed model's BEAT carry. */
static inline int64_t gw_realtime_ms(const struct gw *gw)
{
	return (int64_t)(gw_now(gw) / (rte_get_tsc_hz() / 1000)) + gw->realtime_off_ms;
}

/* How far a keyed HELLO's or BEAT's time may be from the gateway's. */
#define GW_HELLO_SKEW_MS 30000

/* gw_pkt.c: classify and act on a burst received on this lcore from port
 * index `port`, or with port -1 (handoff ring) from the port m->port names. */
void gw_pkt_burst(struct gw_lcore *lc, const struct gw_tables *t,
		  struct rte_mbuf **pkts, unsigned n, int port);

/* gw_agg.c: a validated GRAD for this shard, for local slot index `local`
 * (slot index / n_lcores). m is consumed only when answered in place
 * (*consumed); otherwise the caller frees it. Returns the fate. */
enum dp_drop gw_agg_grad(struct gw_lcore *lc, const struct gw_job *job,
			 const struct dp_proto_hdr *h, uint32_t local, const uint8_t *payload,
			 struct rte_mbuf *m, unsigned port, bool *consumed);

/* gw_reply.c: where an answer's payload goes in the frame m: after the
 * header, and the tag when the answer is signed with a keyed job's key. */
uint8_t *gw_reply_payload(struct rte_mbuf *m, const struct gw_job *signer);

/* gw_reply.c: turn the frame in m around: it goes back to its sender from
 * the port it came in on, as the daitn message rh with `payload` bytes
 * already written at gw_reply_payload(m, signer); a signer tags it under
 * context. Queued for TX. */
void gw_reply_send(struct gw_lcore *lc, struct rte_mbuf *m, unsigned port,
		   struct dp_proto_hdr *rh, uint16_t payload, const struct gw_job *signer,
		   uint64_t context);

/* gw_reply.c: an answer's header: the request's job, rank, offset and round
 * echoed, with type and dtype. */
struct dp_proto_hdr gw_reply_hdr(const struct dp_proto_hdr *h, uint8_t type, uint8_t dtype);

/* gw_reply.c: answer the GRAD in m (header h, a retransmission of a chunk
 * set s already counted, the use incomplete) with WAITING: how many ranks
 * contributed and the first missing ones, cut to the GRAD's payload size,
 * within the reply rate limits; tagged under the run's salt for a keyed job.
 * *consumed says whether m was queued for TX. */
struct dp_slot_set;
void gw_reply_waiting(struct gw_lcore *lc, const struct gw_job *job, struct rte_mbuf *m,
		      const struct dp_proto_hdr *h, const struct dp_slot_set *s, unsigned port,
		      bool *consumed);

/* gw_agg.c: a deterministic job's GRAD of run `run` reached this lcore:
 * if the lcore last held chunks of another run, they can never be folded
 * (their uses are over), so they go back to the pools now. */
void gw_agg_held_run(struct gw_lcore *lc, const struct gw_job *job, struct gw_job_lc *jl,
		     uint64_t run);

/* gw_agg.c: a tree leaf's use (slot field h->slot, local index `local`)
 * whose sum is with the parent gets the parent's RESULT (h, payload of
 * h->count elements): it becomes the use's result and goes to every local
 * rank. Returns DP_DROP_TREE_RESULT, or DP_DROP_TREE_RESULT_STALE when no
 * use of this tag waits for it (a duplicate, or a use that moved on). */
enum dp_drop gw_agg_result_down(struct gw_lcore *lc, const struct gw_job *job,
				const struct dp_proto_hdr *h, uint32_t local,
				const uint8_t *payload);

/* gw_tree.c, any data lcore: send the sum of set s (slot field `slot`, the
 * use's narrowed result at data) up to the parent as this gateway's
 * contribution; `again` for a worker's retransmission. Never blocks: a
 * frame that cannot be built is counted (up_lost) and left to the next
 * retransmission. */
void gw_tree_up_send(struct gw_lcore *lc, const struct gw_job *job, struct gw_job_lc *jl,
		     const struct dp_slot_set *s, const void *data, uint16_t slot, bool again);

/* gw_tree.c, shard 0 (gw_hello.c): every local rank of the tree leaf job
 * has joined. True with the parent's round_base when the parent has ACKed
 * this local run; otherwise sends a HELLO up (at most one per 10 ms) that,
 * when floored, asks for a base no older than floor (past every round this
 * gateway holds), and returns false: the workers wait. */
bool gw_tree_join(struct gw_lcore *lc, const struct gw_job *job, bool floored, uint32_t floor,
		  uint32_t *base);

/* gw_tree.c, shard 0: the leaf's local run ended (or never started with
 * this set of processes): the next join up is a new process. */
void gw_tree_run_ended(const struct gw_job *job);

/* gw_tree.c: a RESULT, HELLO_ACK, HELLO_WAIT, ERROR or WAITING (header h,
 * checked by the codec) reached this gateway: only a tree leaf's parent
 * sends those. A RESULT from the parent that fits its job returns
 * DP_DROP_NONE with its local slot index in *local, for the caller to give
 * to gw_agg_result_down() (and count); anything else returns its fate,
 * counted for the job. m is never consumed. */
enum dp_drop gw_tree_rx(struct gw_lcore *lc, const struct gw_tables *t, const struct rte_mbuf *m,
			const struct dp_proto_hdr *h, unsigned port, uint32_t *local);

/* gw_agg.c: learn rank's MAC and port from a frame; rebuild its header template. */
void gw_agg_peer_learn(struct gw_lcore *lc, const struct gw_job *job, struct gw_job_lc *jl,
		       uint16_t rank, const struct rte_ether_hdr *eth, unsigned port);

/* gw_hello.c: answer a HELLO in place (ACK, WAIT or ERROR). Shard 0's lcore
 * only. Returns the fate; on return m was either queued for TX or must be
 * freed by the caller (*consumed says which). */
enum dp_drop gw_hello(struct gw_lcore *lc, const struct gw_tables *t, struct rte_mbuf *m,
		      const struct dp_proto_hdr *h, unsigned port, bool *consumed);

/* gw_hello.c: a LEAVE (shard 0's lcore only): the rank's process (h->round,
 * its nonce) no longer waits for the job's run. Nothing is sent. */
enum dp_drop gw_hello_leave(struct gw_lcore *lc, const struct gw_tables *t,
			    const struct rte_mbuf *m, const struct dp_proto_hdr *h, unsigned port);

/* gw_reply.c: answer the GRAD in m (header h, from an admitted rank) with
 * ERROR code: DP_ERR_RUN_ENDED (its job has no run on) or
 * DP_ERR_ROUND_CLOSED (a partial job's use closed without it and its set
 * is at round_now; the header's offset says so). In place, cut to the
 * GRAD's payload size (never larger than the GRAD), within the reply rate
 * limits; *consumed says whether m was queued for TX. */
void gw_reply_grad_error(struct gw_lcore *lc, const struct gw_job *job, struct rte_mbuf *m,
			 const struct dp_proto_hdr *h, uint16_t code, uint32_t round_now,
			 unsigned port, bool *consumed);

/* gw_tx.c: queue m for TX on port index `port` (flushes when full). */
void gw_tx_enqueue(struct gw_lcore *lc, unsigned port, struct rte_mbuf *m);
void gw_tx_flush(struct gw_lcore *lc);

/* gw_port.c, control threads under ctl_lock: frames the kernel dropped in
 * front of port p's packet sockets (net_af_packet rings full), which the PMD
 * does not report: the gateway reads PACKET_STATISTICS of its own sockets
 * bound to the port's interface (the kernel resets them on each read) and
 * adds them up. 0 for other PMDs. */
uint64_t gw_port_kernel_drops(struct gw *gw, unsigned p);

/* gw_tables.c */
void gw_tables_free(struct gw *gw, struct gw_tables *t);
void gw_zombies_reap(struct gw *gw, bool force);

/* gw_agg.c: bind the kernels chosen by kn_init(). */
void gw_kern_init(struct gw *gw);

/* gw_telemetry.c: a telemetry command's numeric parameter (decimal or 0x).
 * Returns 0, -ENOENT when there is none, -EINVAL when it is not a number
 * or is over max. */
int gw_tel_param_uint(const char *params, unsigned long max, unsigned long *out);

/* gw_telemetry.c: add string s under key to dict d, cut to telemetry's
 * limit (127 bytes) at a character boundary with "..." when longer. */
struct rte_tel_data;
void gw_tel_add_str(struct rte_tel_data *d, const char *key, const char *s);

#endif /* GW_PRIV_H */
