/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_sched: the per-port TX scheduler (docs/inference.md, "TX scheduling").
 *
 * It orders opaque packet pointers with their byte lengths, so it needs no
 * DPDK and is unit-tested on plain pointers; the gateway passes mbufs.
 *
 * Hierarchy, from the port down:
 *   classes   strict priority between classes of different priority values
 *             (lower value first); DRR by class weight among classes of equal
 *             priority; optional rate cap per class (token bucket).
 *   leaves    each belongs to one class; DRR by leaf weight among the leaves of
 *             a class (one leaf per training job, per model, plus a default
 *             leaf per class); optional rate cap per tenant (token bucket
 *             shared by every leaf of the tenant).
 *   bands     16 strict sub-priorities inside a leaf: band 0 first. The
 *             gateway maps a layer-priority hint h (1 = most urgent .. 15) to
 *             band h-1 and "no hint" to band 15 (dp_sched_band()).
 * Each leaf holds at most queue_len packets (all bands together); a packet
 * arriving at a full leaf is refused and handed back to the caller to free,
 * and counted as a drop of its leaf and class.
 *
 * An optional port cap paces everything the scheduler sends (the rate of
 * the link it feeds, when that is below what the device accepts), so that
 * the queueing happens here, in priority order, rather than in a FIFO
 * further down.
 *
 * Caps are ceilings, not reservations: a class or tenant out of tokens is
 * skipped and lower priorities may send meanwhile. Buckets are refilled from
 * the caller's clock (now_ns, any monotonic nanosecond clock; a step back is
 * ignored). A packet goes when its bucket holds its size (bytes, or one
 * packet), or is full for a packet larger than the burst; so over any T a
 * cap lets through at most rate * T + burst (+ one packet larger than it).
 *
 * Threads: a struct dp_sched belongs to one lcore (the one that transmits on
 * the port queue); enqueue, dequeue, flush and move are called only by it and
 * never block or allocate. Counters are written with relaxed atomic stores and
 * may be read from any thread with dp_sched_*_stats(). create/free on any
 * thread while no lcore uses the object.
 */
#ifndef DP_SCHED_H
#define DP_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#define DP_SCHED_BANDS 16u
#define DP_SCHED_CLASSES_MAX 16u
#define DP_SCHED_NONE UINT32_MAX     /* no tenant / no leaf */

enum dp_sched_unit {
	DP_SCHED_UNIT_BYTES = 0,
	DP_SCHED_UNIT_PACKETS = 1,
};

/* A token bucket. rate 0 = uncapped. */
struct dp_sched_rate {
	uint64_t rate;          /* units per second (bytes/s or packets/s) */
	uint64_t burst;         /* depth in units; 0 = max(1 ms of rate, 16 KiB
				   or 16 packets); at most 2^30 */
	enum dp_sched_unit unit;
};

struct dp_sched_class_conf {
	uint8_t priority;       /* 0 = served first */
	uint32_t weight;        /* DRR share among equal priorities, >= 1 */
	struct dp_sched_rate cap;
};

struct dp_sched_leaf_conf {
	uint32_t cls;           /* index into classes */
	uint32_t weight;        /* DRR share within the class, >= 1 */
	uint32_t tenant;        /* index into tenants, or DP_SCHED_NONE */
	uint32_t queue_len;     /* packets, >= 1 */
};

struct dp_sched_conf {
	uint32_t n_classes;     /* 1 .. DP_SCHED_CLASSES_MAX */
	const struct dp_sched_class_conf *classes;
	uint32_t n_leaves;      /* >= 1 */
	const struct dp_sched_leaf_conf *leaves;
	uint32_t n_tenants;
	const struct dp_sched_rate *tenants;  /* caps; rate 0 = uncapped */
	uint32_t quantum;       /* DRR bytes per weight unit per round;
				   0 = 2048 */
	struct dp_sched_rate port_cap;  /* the whole scheduler's rate (a link
					   slower than the NIC); rate 0: none */
	uint32_t max_backlog;   /* packets queued in all leaves together (the
				   mbufs there are); 0 = the sum of the queue
				   lengths. A packet arriving when it is
				   reached is refused like one at a full leaf */
};

struct dp_sched_pkt {
	void *pkt;
	uint32_t len;           /* bytes on the wire, >= 1 */
	uint32_t leaf;
	uint8_t band;           /* 0 .. 15; larger values are treated as 15 */
};

/* Counters of one class or leaf (packets and bytes). */
struct dp_sched_counters {
	uint64_t enq_pkts, enq_bytes;
	uint64_t deq_pkts, deq_bytes;
	uint64_t drop_pkts, drop_bytes;
};

struct dp_sched;

/* Build an empty scheduler. NULL with errno EINVAL (a bad count, index,
 * weight, queue length or burst; the backlog bound over 2^31) or ENOMEM. */
struct dp_sched *dp_sched_create(const struct dp_sched_conf *conf);

/* Free s. It must be empty (flush it first); queued packets would leak, so
 * a non-empty s is not freed and -EBUSY is returned. NULL: 0. */
int dp_sched_free(struct dp_sched *s);

/*
 * Queue n packets in order. Packets that cannot be queued (leaf full, or an
 * unknown leaf, or len 0) are written to dropped[0 ..] in order and the
 * count is returned; dropped must hold n pointers. The caller frees them.
 */
unsigned dp_sched_enqueue(struct dp_sched *s, const struct dp_sched_pkt *pkts, unsigned n,
			  void **dropped);

/* Take up to n packets in transmission order at time now_ns into pkts; lens,
 * if not NULL, receives their lengths. Returns the count (0 when empty or
 * every backlogged class and tenant is out of tokens). */
unsigned dp_sched_dequeue(struct dp_sched *s, uint64_t now_ns, void **pkts, uint32_t *lens,
			  unsigned n);

/* Take up to n queued packets regardless of caps and order (shutdown, or
 * packets to free); they count as neither sent nor dropped. */
unsigned dp_sched_flush(struct dp_sched *s, void **pkts, unsigned n);

/*
 * Move every queued packet of src into dst, in order within each leaf and
 * band, for a reconfiguration (policy reload): src leaf i goes to dst leaf
 * leaf_map[i]; DP_SCHED_NONE (or a full dst leaf) hands the packet back in
 * dropped (at most max of them; the rest stay in src, so call again until
 * dp_sched_backlog(src) is 0). Moved packets count as enqueued in dst only.
 * Returns the number written to dropped. Both schedulers belong to the caller.
 */
unsigned dp_sched_move(struct dp_sched *dst, struct dp_sched *src, const uint32_t *leaf_map,
		       void **dropped, unsigned max);

/* Packets queued. Owning lcore only. */
uint32_t dp_sched_backlog(const struct dp_sched *s);

/*
 * A shortcut for the owner's fast path. When the scheduler is empty and has
 * no cap (class, tenant or port), the order it would give a batch is strict
 * priority by level, then band; the caller may then send the batch directly
 * in that order (dp_sched_order_direct() sorts it) and queue only what the
 * device refuses. dp_sched_count_direct() books the packets it sent that way
 * as queued and sent, so the counters stay whole.
 */
bool dp_sched_capped(const struct dp_sched *s);
/* Stable-sort pkts[0..n-1] by (level of their leaf, band), O(n), in chunks of
 * 1024 (each chunk sorted on its own). Unknown leaves sort last. */
void dp_sched_order_direct(const struct dp_sched *s, struct dp_sched_pkt *pkts, unsigned n);
void dp_sched_count_direct(struct dp_sched *s, const struct dp_sched_pkt *pkts, unsigned n);

/* Counters, from any thread. -EINVAL for an index out of range. */
int dp_sched_class_stats(const struct dp_sched *s, uint32_t cls, struct dp_sched_counters *out);
int dp_sched_leaf_stats(const struct dp_sched *s, uint32_t leaf, struct dp_sched_counters *out);

/* Packets refused because their leaf did not exist or their length was 0. */
uint64_t dp_sched_bad_input(const struct dp_sched *s);

/* Band for a 4-bit priority hint: 1..15 -> 0..14, 0 (no hint) -> 15. */
static inline uint8_t
dp_sched_band(unsigned hint)
{
	hint &= 0x0fu;
	return (uint8_t)(hint == 0 ? DP_SCHED_BANDS - 1 : hint - 1);
}

#endif /* DP_SCHED_H */
