/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_ctl: daitn-gw's control loop (docs/telemetry.md, docs/architecture.md).
 *
 * The main thread waits in poll() on:
 *   - a signalfd: SIGINT/SIGTERM stop, SIGHUP reloads the policy;
 *   - an inotify watch on the policy file's folder (watch_policy): a change
 *     of the file, written in place or renamed over it, reloads after a short
 *     quiet period (DAITN_RELOAD_DEBOUNCE_MS, default 2 ms);
 *   - an eventfd: `daitnctl reload` (telemetry /daitn/reload) asks for a
 *     reload and waits for its result;
 *   - deadlines: node liveness refresh (a quarter of the policy's
 *     node_timeout_ms, 5 .. 250 ms), housekeeping (1 s), counters print.
 *
 * Every reload, whatever its trigger, runs on this thread: read, parse and
 * validate (through the gateway's parse cache, cp_json.h), build and publish the tables
 * (gw_policy_apply), then wait (bounded) until every data lcore runs the new
 * generation. An invalid policy is refused with its diagnostics and the
 * running one stays. Each reload's outcome is kept as the last reload status
 * and counted; telemetry reads it.
 *
 * Threads: create/run/destroy on the main thread; gw_ctl_request_reload and
 * gw_ctl_status_read on telemetry threads (they never build tables: the main
 * thread does, and they wait for it with a bound).
 */
#ifndef GW_CTL_H
#define GW_CTL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cp_config.h"
#include "cp_policy.h"
#include "gw.h"

#define GW_RELOAD_ERRORS 8              /* diagnostics kept in the status */
#define GW_RELOAD_TEXT 128              /* = telemetry's string limit */

enum gw_reload_trigger {
	GW_RELOAD_START = 0,            /* the policy loaded at start-up */
	GW_RELOAD_SIGHUP,
	GW_RELOAD_INOTIFY,
	GW_RELOAD_TELEMETRY,            /* daitnctl reload */
	GW_RELOAD_TRIGGERS
};

enum gw_reload_result {
	GW_RELOAD_OK = 0,
	GW_RELOAD_INVALID,              /* the file failed validation */
	GW_RELOAD_UNREADABLE,           /* the file could not be read */
	GW_RELOAD_REFUSED,              /* valid, but the gateway could not apply it */
	GW_RELOAD_TIMEOUT,              /* a telemetry request got no answer in time */
	GW_RELOAD_RESULTS
};

struct gw_reload_status {
	uint64_t seq;                   /* 0: none yet */
	enum gw_reload_trigger trigger;
	enum gw_reload_result result;
	int64_t at_ms;                  /* wall clock of the trigger, ms since the epoch */
	uint64_t version;               /* the policy version running afterwards */
	uint64_t file_version;          /* the file's version, if it parsed */
	uint64_t gen;                   /* table generation running afterwards */
	uint32_t jobs, models, nodes, tenants;
	uint32_t jobs_kept, jobs_added, jobs_removed;
	uint64_t read_ns, parse_ns, apply_ns;
	uint64_t total_ns;              /* trigger -> every lcore on the new version */
	uint64_t done_mono_ns;          /* CLOCK_MONOTONIC when it was done */
	bool lcores_late;               /* an lcore had not switched within the bound */
	unsigned n_errors;              /* diagnostics in all (errors[] holds the first) */
	char errors[GW_RELOAD_ERRORS][GW_RELOAD_TEXT];
	char message[GW_RELOAD_TEXT];   /* one line for people */
};

struct gw_ctl_counts {
	uint64_t ok, invalid, unreadable, refused;
	uint64_t by_trigger[GW_RELOAD_TRIGGERS];
};

struct gw_ctl_conf {
	const char *policy_path;
	const struct cp_gw_config *cfg;
	sigset_t sigs;                  /* blocked in every thread: INT, TERM, HUP */
	unsigned stats_interval;        /* print counters every N s; 0 never */
};

struct gw_ctl;

/*
 * After the initial policy is applied: open the signalfd, the inotify watch
 * (if cfg->watch_policy) and the eventfd, record the start-up load
 * (start_ns: CLOCK_MONOTONIC when loading began), register the telemetry
 * commands. NULL with a message on stderr on failure.
 */
struct gw_ctl *gw_ctl_create(struct gw *gw, const struct gw_ctl_conf *conf, uint64_t start_ns);

/*
 * One reload of the policy at path, whatever asked for it, on the thread
 * that owns the tables (the main thread): read, parse and validate against
 * lim, apply (gw_policy_apply), wait for the running lcores to switch. out
 * gets the outcome (seq 0: the caller numbers it); t0 is the trigger time
 * (CLOCK_MONOTONIC ns). Used by the control loop and the reload benchmark.
 */
void gw_ctl_reload_file(struct gw *gw, const char *path, const struct cp_limits *lim,
			enum gw_reload_trigger trigger, uint64_t t0, struct gw_reload_status *out);

/* Serve until SIGINT or SIGTERM; returns that signal. */
int gw_ctl_run(struct gw_ctl *c);

void gw_ctl_destroy(struct gw_ctl *c);

/* Telemetry thread: ask the main thread for a reload and wait up to
 * timeout_ms for its outcome (result GW_RELOAD_TIMEOUT if none came). */
void gw_ctl_request_reload(struct gw_ctl *c, unsigned timeout_ms, struct gw_reload_status *out);

/* Any thread: the last reload's status and the counters. */
void gw_ctl_status_read(struct gw_ctl *c, struct gw_reload_status *last,
			struct gw_ctl_counts *counts);

const char *gw_reload_trigger_name(enum gw_reload_trigger t);
const char *gw_reload_result_name(enum gw_reload_result r);
const char *gw_ctl_policy_path(const struct gw_ctl *c);
bool gw_ctl_watching(const struct gw_ctl *c);

/* CLOCK_MONOTONIC in ns, the clock of the reload status. */
uint64_t gw_ctl_now_ns(void);

/* gw_telemetry_cp.c: register /daitn/status, /daitn/reload and the other
 * control-plane commands (docs/telemetry.md). 0 or a negative errno. */
int gw_telemetry_cp_register(struct gw *gw, struct gw_ctl *c);

#endif /* GW_CTL_H */
