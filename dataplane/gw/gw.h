/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw: the daitn gateway data plane (docs/architecture.md).
 *
 * Life cycle, all on the main thread after rte_eal_init() and kn_init():
 *
 *     gw = gw_create(cfg);              lcore contexts, mempools, handoff rings
 *     gw_ports_start(gw, ...);          configure queues, start ports, flow rules
 *     gw_policy_apply(gw, policy, ...); build job tables, publish them (RCU)
 *     gw_launch(gw);                    run gw_lcore_main() on every data lcore
 *     ... gw_policy_apply() again to reload ...
 *     gw_stop(gw); gw_ports_stop(gw); gw_destroy(gw);
 *
 * Tests and benchmarks may skip gw_launch() and drive the pipeline themselves
 * with gw_lcore_poll(), from a thread registered with liburcu-qsbr
 * (rcu_register_thread()), one thread per lcore context at a time.
 *
 * Threads: data lcores run gw_lcore_main()/gw_lcore_poll() and read the job
 * tables under RCU (QSBR). Everything else is for control threads (main,
 * telemetry), which serialise among themselves with the gateway's control
 * lock; counters are read with relaxed atomics while lcores run.
 */
#ifndef GW_H
#define GW_H

#include <stdint.h>
#include <stdio.h>

#include "cp_config.h"
#include "cp_policy.h"
#include "dp_drop.h"

/* Per-lcore events that are not packet fates (enum dp_drop counts fates). */
#define GW_EVENTS(X)                                                         \
	X(RX, "rx")                     /* packets received from ports */     \
	X(TX, "tx")                     /* packets handed to the PMD */        \
	X(HANDOFF_OUT, "handoff_out")   /* passed to the owner shard's lcore */ \
	X(HANDOFF_IN, "handoff_in")     /* received from another lcore */      \
	X(RESULTS_SENT, "results_sent") /* RESULT copies built (fan-out and resend) */ \
	X(SLOTS_ABANDONED, "slots_abandoned") /* incomplete use replaced by a newer tag */ \
	X(BUF_BUSY, "buf_busy")         /* set reused while TX still held its result */ \
	X(FANOUT_NOBUF, "fanout_nobuf") /* result copies not built: no header mbuf */ \
	X(POLLS, "polls")               /* loop iterations */ \
	X(REPLIES_LIMITED, "replies_limited") /* answers withheld: reply rate limits */ \
	X(ARP_ASKED, "arp_asked")       /* ARP requests sent for policy nodes */ \
	X(WAITING_SENT, "waiting_sent") /* WAITING answers to retransmitted chunks */ \
	X(IDLE_SLEEPS, "idle_sleeps")   /* adaptive polling: sleeps between empty polls */

#define GW_EV_ENUM_(name, str) GW_EV_##name,
enum gw_event {
	GW_EVENTS(GW_EV_ENUM_)
	GW_EV_MAX
};
#undef GW_EV_ENUM_

struct gw_stats {
	uint64_t fate[DP_DROP_MAX];     /* packets (TX_FULL: result copies) */
	uint64_t ev[GW_EV_MAX];
};

struct gw;
struct gw_lcore;

/* The event's name ("handoff_out"). */
const char *gw_event_name(enum gw_event e);

/*
 * Create the gateway for cfg (which must outlive it): one context per data
 * lcore with its mempools (RX, result headers, external-buffer mbufs) and a
 * handoff ring, and the kernels chosen by kn_init(). Returns NULL with
 * rte_errno set (ENOMEM, EINVAL for a config the EAL cannot serve, such as a
 * data lcore the EAL was not started with); a message went to stderr.
 */
struct gw *gw_create(const struct cp_gw_config *cfg);

/*
 * Find each configured port (by its device name: the vdev name before the
 * first ',' or the PCI address), configure one RX and one TX queue per data
 * lcore, start it and install rte_flow steering rules where the PMD takes
 * them. Returns 0 or a negative errno (message to stderr). ports_out, if not
 * NULL, receives the port ids in configuration order.
 */
int gw_ports_start(struct gw *gw, uint16_t *ports_out);

/* Stop and close every started port (frees what their queues hold). */
void gw_ports_stop(struct gw *gw);

/*
 * Build job tables from policy p (ownership passes to the gateway on success),
 * publish them to the lcores, wait for a grace period and free the previous
 * tables. Jobs equal under cp_job_same() keep their slot state. Every call
 * after the first counts as a reload (ok or refused, in /daitn/info). Returns 0, or
 * -EINVAL / -ENOSPC (slot memory) / -ENOMEM with a sentence in err; then
 * nothing changed and p is still the caller's.
 */
int gw_policy_apply(struct gw *gw, struct cp_policy *p, char *err, size_t err_size);

/*
 * Every clock read of the gateway (token buckets, liveness, join freshness,
 * reload and inference timing) goes through the gateway's clock: TSC cycles,
 * rte_get_tsc_hz() per second, from rte_rdtsc() unless a test sets fn. Set it
 * before gw_launch(), from the main thread; fn may be called from any thread.
 */
typedef uint64_t (*gw_clock_fn)(void *arg);
void gw_clock_set(struct gw *gw, gw_clock_fn fn, void *arg);

/* Run gw_lcore_main() on every data lcore. Returns 0 or a negative errno. */
int gw_launch(struct gw *gw);

/* Record a reload refused before gw_policy_apply() (the file did not load);
 * telemetry shows it. Control threads. */
void gw_reload_refused(struct gw *gw, const char *why);

/* Release the state of removed jobs once no RESULT copy in TX points into
 * it. Main thread, every second or so. */
void gw_housekeeping(struct gw *gw);

/* Ask the lcores to stop and wait for them (no-op if not launched). */
void gw_stop(struct gw *gw);

/* Free everything (ports must be stopped). NULL is fine. */
void gw_destroy(struct gw *gw);

/* The data lcore loop: poll until gw_stop(). arg is a struct gw_lcore *. */
int gw_lcore_main(void *arg);

/* One iteration of the pipeline on lc: RX from every port's queue of this
 * shard and from the handoff ring, process, TX. Returns packets taken in. */
unsigned gw_lcore_poll(struct gw_lcore *lc);

unsigned gw_lcore_count(const struct gw *gw);
struct gw_lcore *gw_lcore_get(struct gw *gw, unsigned shard);

/* Counters of one shard (shard < gw_lcore_count()) or, with shard -1, their
 * sum. Any thread. */
void gw_stats_read(const struct gw *gw, int shard, struct gw_stats *out);

/* Fates of job id summed over lcores; -ENOENT if the job is not running.
 * Control threads. */
int gw_job_stats_read(struct gw *gw, uint16_t id, struct gw_stats *out);

/* Print the counters (non-zero ones, per lcore and total) for people. */
void gw_stats_print(const struct gw *gw, FILE *out);

/* Register the /daitn/ info, stats, jobs and job telemetry commands (the
 * app registers the inference and control-plane views beside them, gw_infer.h
 * and gw_ctl.h). Returns 0 or a negative errno. */
int gw_telemetry_register(struct gw *gw);

#endif /* GW_H */
