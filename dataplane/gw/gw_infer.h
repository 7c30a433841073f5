/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_infer: the gateway's inference path and its priority TX scheduling
 * (docs/inference.md), hooked into the gw core at a few points. Private to
 * dataplane/gw.
 *
 * Per policy version (struct gw_infer_tables, hung off struct gw_tables and
 * published with it): the placement table (dp_route), the scheduler plan, an
 * empty scheduler per (data lcore, port) built for that plan, and per node of
 * the policy its last-seen time and learned MAC (relaxed atomics written by
 * whichever lcore hears the node).
 *
 * Per data lcore (struct gw_infer_lc): the route affinity cache, the
 * schedulers it transmits from, and the packets a PMD refused (sent first on
 * the next flush). When an lcore first sees a new version it moves its
 * queued packets into that version's schedulers (nothing queued is dropped
 * by a reload) and acknowledges; the control thread frees the old version's
 * schedulers only after every lcore acknowledged, waiting a bounded time.
 *
 * Threads: gw_infer_init/fini, *_tables_build/free, gw_infer_published on
 * the control thread under the gateway's control lock; gw_infer_lcore_sync,
 * gw_infer_pkt, gw_sched_enqueue and gw_sched_flush on the owning data lcore.
 *
 * Benchmark knobs (environment, read by gw_infer_init): DAITN_TX_SCHED=fifo
 * replaces the priority hierarchy by one FIFO per (lcore, port), =off sends
 * frames straight to the PMD in arrival order (no scheduler at all);
 * DAITN_TX_RATE_MBPS=N caps each (lcore, port) scheduler at N Mbit/s (a link
 * slower than the device, so that the queue forms in the scheduler).
 */
#ifndef GW_INFER_H
#define GW_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_drop.h"

struct gw;
struct gw_lcore;
struct gw_tables;
struct gw_infer_tables;
struct gw_infer_lc;
struct rte_mbuf;
struct rte_ipv4_hdr;
struct rte_udp_hdr;

/* Per-lcore inference counters (not packet fates: those are dp_drop's). */
#define GW_INFER_COUNTERS(X)                                                   \
	X(ERRORS_SENT, "infer_errors_sent")   /* ERROR messages to requesters */  \
	X(MAC_UNKNOWN, "infer_mac_unknown")   /* sent to broadcast: MAC not learned */ \
	X(TX_SCHED_DROPS, "tx_sched_drops")   /* refused by a full scheduler leaf */ \
	X(TX_PENDING, "tx_pending")           /* PMD refused; kept for the next flush */ \
	X(SCHED_MOVED, "sched_moved")         /* queued packets moved by a reload */ \
	X(SCHED_MOVE_DROPS, "sched_move_drops") /* ... that found no room: freed */

#define GW_INFER_CNT_ENUM_(name, str) GW_INFER_##name,
enum gw_infer_cnt {
	GW_INFER_COUNTERS(GW_INFER_CNT_ENUM_)
	GW_INFER_CNT_MAX
};
#undef GW_INFER_CNT_ENUM_

const char *gw_infer_cnt_name(enum gw_infer_cnt c);

/* After the lcore contexts exist: per-lcore state. 0 or -ENOMEM (message on
 * stderr). */
int gw_infer_init(struct gw *gw);

/* Free the per-lcore state and any retired version (lcores stopped). Packets
 * still queued are freed. */
void gw_infer_fini(struct gw *gw);

/* Build t->infer for t->policy (old: the running tables or NULL). Before the
 * job tables, so a failure leaves nothing to undo. 0, -EINVAL or -ENOMEM with
 * a sentence in err. */
int gw_infer_tables_build(struct gw *gw, struct gw_tables *t, const struct gw_tables *old,
			  char *err, size_t err_size);

/* Free a version (NULL ok). Its schedulers must be empty or unused. */
void gw_infer_tables_free(struct gw *gw, struct gw_infer_tables *it);

/* After t was published and a grace period passed, before old is freed:
 * carry last-seen times and MACs over, get every lcore onto t's schedulers
 * (move their backlog ourselves if the lcores are not running), and take
 * old's version out of old if an lcore has not acknowledged in time (it is
 * then freed later). */
void gw_infer_published(struct gw *gw, struct gw_tables *t, struct gw_tables *old);

/* Start of each lcore poll: clock, and adoption of a new version. */
void gw_infer_lcore_sync(struct gw_lcore *lc, const struct gw_tables *t);

/* An inference message (type 16..31) for this shard. udp_payload_len is the
 * UDP payload length. Returns its fate; *consumed when m was sent on. */
enum dp_drop gw_infer_pkt(struct gw_lcore *lc, const struct gw_tables *t, struct rte_mbuf *m,
			  struct rte_ipv4_hdr *ip, struct rte_udp_hdr *udp,
			  unsigned udp_payload_len, unsigned port, bool *consumed);

/* The TX path: queue m for port in the lcore's scheduler (classified by its
 * headers; m is consumed: queued, or freed and counted if its leaf is full)
 * and return true; false if the lcore has no scheduler yet (no policy), then
 * m is untouched. gw_sched_flush sends what the schedulers release. */
bool gw_sched_enqueue(struct gw_lcore *lc, unsigned port, struct rte_mbuf *m);
void gw_sched_flush(struct gw_lcore *lc);

/* Register /daitn/infer (gw_infer_telemetry.c). 0 or a negative errno. */
int gw_infer_telemetry_register(struct gw *gw);

/* Counters of one shard (or all with shard -1), any thread. */
void gw_infer_stats_read(const struct gw *gw, int shard, uint64_t out[GW_INFER_CNT_MAX]);

#endif /* GW_INFER_H */
