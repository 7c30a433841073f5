/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_route: inference placement lookup and replica choice (docs/inference.md).
 *
 * Two objects:
 *
 * struct dp_route_table - built whole from a struct dp_route_spec (the
 *   planning step makes it from a policy: cp_plan_route in control/plan) by
 *   dp_route_table_build() on a control thread (it allocates), published to the
 *   lcores with rcu_assign_pointer and freed with dp_route_table_free() after a
 *   grace period. It maps model id -> model, (model, stage) -> replica list,
 *   and holds the sets of admitted sources. The placement part is read-only.
 *   It also carries one pick-state slice per lcore (smooth weighted round robin
 *   credits and outstanding-message counts): slice i is written only by the
 *   lcore that passes lcore index i, each slice on its own cache lines. A new
 *   table starts with fresh (zero) pick state.
 *
 * struct dp_route_lcore - one per data lcore, owned by it: the bounded session
 *   affinity cache and the lcore's counters. It outlives tables, so sessions
 *   keep their replicas across reloads unless the policy moves them.
 *
 * dp_route_resolve() is the data-path call: no allocation, no lock, no atomic
 * read-modify-write. It may be called only by the lcore owning lc, with a
 * table it read under RCU.
 *
 * Choice of a replica for a new (model, reply address, session, stage):
 * among the live replicas, the one with the lowest outstanding / weight, ties
 * broken by smooth weighted round robin (both as nginx does them), so when
 * every replica keeps up (nothing outstanding) the picks follow the weights
 * exactly, and a replica that answers slowly gets fewer new sessions. The choice is remembered in the affinity cache; later
 * messages of the session go to the same replica while it is up and placed.
 *
 * Steering requirement: every message of one session must reach the gateway on
 * the same lcore (requesters send a session to one gateway port, stage nodes
 * answer to the address the activation came from), since the cache is per
 * lcore.
 *
 * Addresses and ports are in host byte order.
 */
#ifndef DP_ROUTE_H
#define DP_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

/* What a table is built from: the models' placements. Node indices are the
 * caller's numbering of nodes (0 .. n_nodes-1), the same that liveness and
 * load use. */
struct dp_route_replica_spec {
	uint32_t node;          /* node index */
	uint32_t ip;
	uint16_t port;
	uint32_t weight;        /* >= 1 */
};

struct dp_route_stage_spec {
	uint16_t n_replicas;
	const struct dp_route_replica_spec *replicas;
};

struct dp_route_model_spec {
	uint16_t id;
	uint32_t tenant;            /* reported with the model, not interpreted */
	uint32_t class_idx;         /* idem */
	uint16_t n_stages;
	const struct dp_route_stage_spec *stages;   /* stage s forwards to s+1 */
	bool reply_to_requester;    /* else reply_ip:reply_port */
	uint32_t reply_ip;
	uint16_t reply_port;
	uint32_t n_requesters;
	const uint32_t *requesters; /* node indices admitted to send requests */
};

struct dp_route_spec {
	uint64_t version;           /* reported by the table */
	uint32_t n_nodes;
	const uint32_t *node_ip;    /* [n_nodes] */
	uint32_t n_models;
	const struct dp_route_model_spec *models;
};

/* Stage numbers are 8 bits on the wire and stage == n_stages marks a final
 * output, so a model has at most 254 stages. */
#define DP_ROUTE_STAGES_MAX 254u
#define DP_ROUTE_LCORES_MAX 128u

/* Sentinel for "no node / no replica". */
#define DP_ROUTE_NONE UINT32_MAX

struct dp_route_replica {
	uint32_t ip;
	uint16_t port;
	uint16_t reserved;
	uint32_t node;          /* node index in the policy */
	uint32_t weight;        /* >= 1 */
};

/* An admitted source and its node index, sorted by (ip, port) for search.
 * Requesters are admitted from any port (port 0 here); a stage's sources are
 * its replicas' ip:port. */
struct dp_route_src {
	uint32_t ip;
	uint16_t port;
	uint16_t reserved;
	uint32_t node;
};

struct dp_route_stage {
	uint32_t first;         /* its replicas: replicas[first .. first+n-1] */
	uint16_t n_replicas;
	uint16_t n_srcs;
	uint32_t first_src;     /* its replicas' ip:port: srcs[first_src ..] */
	uint32_t weight_sum;    /* of its replicas */
};

struct dp_route_model {
	uint16_t id;
	uint16_t n_stages;
	uint32_t first_stage;   /* stages[first_stage .. first_stage+n_stages-1] */
	uint32_t tenant;        /* policy indices */
	uint32_t class_idx;
	uint32_t policy_idx;    /* index into the policy's models */
	bool reply_to_requester;
	uint32_t reply_ip;      /* when !reply_to_requester */
	uint16_t reply_port;
	uint32_t first_req;     /* requester ips: srcs[first_req .. +n_req-1] */
	uint32_t n_req;
};

struct dp_route_slot {          /* model hash table slot */
	uint16_t id;
	uint16_t used;
	uint32_t model;         /* index into models */
};

struct dp_route_pick;           /* per-lcore pick state, private */

struct dp_route_table {
	uint64_t policy_version;
	uint32_t gen;           /* unique per built table in this process */
	uint32_t n_nodes;       /* nodes of the policy (liveness view size) */
	uint32_t n_models;
	uint32_t n_stages;
	uint32_t n_replicas;
	uint32_t n_srcs;
	uint32_t n_lcores;
	uint32_t hash_mask;
	struct dp_route_model *models;
	struct dp_route_stage *stages;
	struct dp_route_replica *replicas;
	struct dp_route_src *srcs;
	struct dp_route_slot *hash;
	struct dp_route_pick **pick;    /* [n_lcores] */
};

/*
 * Build the table for spec p (not kept) with pick state for n_lcores lcores
 * (1 .. DP_ROUTE_LCORES_MAX). Control thread only. Returns the table, or NULL with
 * errno: EINVAL (n_lcores out of range, a model with no or too many stages, a
 * stage without replicas, a zero weight), ENOMEM.
 */
struct dp_route_table *dp_route_table_build(const struct dp_route_spec *p, unsigned n_lcores);

/* Free a table no lcore can still read (after the RCU grace period). NULL ok. */
void dp_route_table_free(struct dp_route_table *t);

/* Placement lookups; any thread holding a reference. NULL if absent. */
const struct dp_route_model *dp_route_model_find(const struct dp_route_table *t, uint16_t id);
const struct dp_route_stage *dp_route_stage_find(const struct dp_route_table *t,
						 const struct dp_route_model *m, unsigned stage);

/* The node index of (ip, port) if it is in srcs[first .. first+n-1], else
 * DP_ROUTE_NONE. Pass port 0 to look up a requester. */
uint32_t dp_route_src_find(const struct dp_route_table *t, uint32_t first, uint32_t n,
			   uint32_t ip, uint16_t port);

/*
 * Liveness view, by node index of the table's policy. A node is up when
 *  - its bit in up[] is set (bit node % 64 of up[node / 64]; the control
 *    thread's verdict, written with dp_route_live_set(); up NULL: all set), and
 *  - if last_seen_ns is not NULL: it was seen at most timeout_ns before now
 *    (last_seen_ns[node] is written by whichever lcore saw the node, with
 *    relaxed atomic stores; 0 = never seen = down).
 * Both arrays are read with relaxed atomic loads. Nodes at or beyond n_nodes,
 * and a NULL view, count as up.
 */
struct dp_route_live {
	uint64_t *up;
	uint32_t n_nodes;
	const uint64_t *last_seen_ns;
	uint64_t timeout_ns;
};

void dp_route_live_set(struct dp_route_live *lv, uint32_t node, bool up);
bool dp_route_live_up(const struct dp_route_live *lv, uint32_t node, uint64_t now_ns);

struct dp_route_lcore_conf {
	unsigned lcore;             /* pick-state slice index, < table n_lcores */
	uint32_t affinity_entries;  /* cache size, rounded up to a power of 2;
				       0 = 65536; at least 4 */
	uint64_t load_half_life_ns; /* outstanding counts halve after this long,
				       so lost messages are forgotten; rounded down
				       to a power of two; 0 = 100 ms (67 ms) */
};

/* Per-lcore counters. Written by the owning lcore with relaxed atomic stores;
 * any thread may read them with dp_route_stats_get(). */
struct dp_route_stats {
	uint64_t forwarded;         /* FORWARD verdicts */
	uint64_t replied;           /* REPLY verdicts */
	uint64_t unknown_model;
	uint64_t bad_stage;
	uint64_t not_admitted;
	uint64_t bad_reply;
	uint64_t no_replica;
	uint64_t new_sessions;      /* picks for a (session, stage) not cached */
	uint64_t affinity_hits;     /* cached replica reused */
	uint64_t failovers;         /* cached replica down: picked another */
	uint64_t moved;             /* cached replica no longer placed: re-picked */
	uint64_t evictions;         /* a cached session displaced by a new one */
};

struct dp_route_lcore;

/* Create the per-lcore state (any thread, before the lcore runs). NULL with
 * errno EINVAL or ENOMEM. */
struct dp_route_lcore *dp_route_lcore_create(const struct dp_route_lcore_conf *conf);
void dp_route_lcore_free(struct dp_route_lcore *lc);
void dp_route_stats_get(const struct dp_route_lcore *lc, struct dp_route_stats *out);

enum dp_route_verdict {
	DP_ROUTE_FORWARD = 0,     /* send to out->ip:port, a replica of m.stage */
	DP_ROUTE_REPLY,           /* final output: send RESULT to out->ip:port */
	DP_ROUTE_UNKNOWN_MODEL,   /* drop; ERROR(UNKNOWN_MODEL) to a requester */
	DP_ROUTE_BAD_STAGE,       /* stage > n_stages; drop */
	DP_ROUTE_NOT_ADMITTED,    /* src is not a requester (stage 0, any port)
				     nor the ip:port of a replica of stage-1
				     (later stages); drop */
	DP_ROUTE_BAD_REPLY,       /* reply address not a requester; drop */
	DP_ROUTE_NO_REPLICA,      /* every replica down: drop, ERROR(NO_REPLICA)
				     to out->ip:port (the requester) */
};

/* An activation as the gateway sees it (header fields host order). */
struct dp_route_msg {
	uint16_t model;
	uint8_t stage;
	uint32_t session;
	uint32_t src_ip;
	uint16_t src_port;
	uint32_t reply_ip;      /* ignored on stage 0: the source is the requester */
	uint16_t reply_port;
};

struct dp_route_dest {
	uint32_t ip;
	uint16_t port;
	uint32_t node;          /* replica's node, DP_ROUTE_NONE for a reply */
	uint32_t src_node;      /* the admitted sender's node, else DP_ROUTE_NONE */
	uint32_t replica;       /* index into t->replicas, or DP_ROUTE_NONE */
	uint32_t reply_ip;      /* the requester (stage 0: the source) */
	uint16_t reply_port;
	const struct dp_route_model *model;  /* NULL if unknown */
};

/*
 * Route one activation at time now_ns (any monotonic ns clock, the same for
 * every call on lc). Counts the verdict in lc's stats; a message from a stage
 * node also retires one outstanding message of that node. For FORWARD, REPLY
 * and NO_REPLICA, out->reply_ip/port say where a RESULT or ERROR goes.
 * Owning lcore only; t read under RCU and built with n_lcores greater than
 * lc's lcore index; live may be NULL (all up).
 */
enum dp_route_verdict dp_route_resolve(struct dp_route_lcore *lc, const struct dp_route_table *t,
				       const struct dp_route_live *live, uint64_t now_ns,
				       const struct dp_route_msg *m, struct dp_route_dest *out);

/* Name of a verdict ("forward", "no_replica", ...). */
const char *dp_route_verdict_name(enum dp_route_verdict v);

#endif /* DP_ROUTE_H */
