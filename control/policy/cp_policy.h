/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_policy: the operator's policy, parsed and validated into an immutable
 * object. Reference: docs/policy.md.
 *
 * A struct cp_policy is built whole by cp_policy_load() (any non-lcore thread;
 * it allocates), never modified afterwards, and freed with cp_policy_free().
 * The data plane builds its lookup tables from it and publishes them with RCU;
 * lcores may read a policy concurrently once it is published.
 *
 * All indices (tenant, class, node) refer into the arrays of the same policy.
 * IPv4 addresses are in host byte order; ports are host byte order.
 */
#ifndef CP_POLICY_H
#define CP_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "cp_diag.h"

#define CP_ID_MAX 48

/* Sizes of a policy; docs/policy.md states each. */
#define CP_TENANTS_MAX 256
#define CP_CLASSES_MAX 16
#define CP_PRIORITY_MAX 7
#define CP_NODES_MAX 65536
#define CP_JOBS_MAX 65535       /* job ids are 1 .. 65535 */
#define CP_MODELS_MAX 65535     /* model ids are 1 .. 65535 */
#define CP_STAGES_MAX 16
#define CP_REPLICAS_MAX 64
#define CP_REQUESTERS_MAX 4096

enum cp_class_kind {
	CP_CLASS_CONTROL = 0,   /* highest priority */
	CP_CLASS_INFERENCE = 1,
	CP_CLASS_TRAINING = 2,
};

enum cp_role {
	CP_ROLE_WORKER = 1u << 0,     /* training worker */
	CP_ROLE_STAGE = 1u << 1,      /* hosts inference stages */
	CP_ROLE_REQUESTER = 1u << 2,  /* sends inference requests */
	CP_ROLE_GATEWAY = 1u << 3,    /* another daitn gateway of a tree (docs/policy.md) */
};

struct cp_tenant {
	char id[CP_ID_MAX];
	uint64_t slot_memory;   /* bytes of gateway slot memory its jobs may use;
				 * 0 = no cap of its own (the gateway's applies) */
	uint64_t rate_pps;      /* admitted packets per second; 0 = unlimited */
	uint64_t burst;         /* token-bucket depth, packets (0 when unlimited) */
};

struct cp_class {
	char id[CP_ID_MAX];
	enum cp_class_kind kind;
	uint8_t priority;       /* 0 = served first; strict between classes */
	uint32_t weight;        /* share among classes of equal priority */
	uint64_t rate_bps;      /* cap in bits per second; 0 = uncapped */
	uint32_t queue_len;     /* packets queued per port before dropping */
};

struct cp_node {
	char id[CP_ID_MAX];
	uint32_t ip;
	uint32_t roles;         /* enum cp_role bits */
	bool has_mac;           /* the policy pins its Ethernet address */
	uint8_t mac[6];
};

struct cp_worker {
	uint32_t node;          /* index into nodes */
	uint32_t ip;            /* the node's address, copied for the data path */
	uint16_t port;          /* the worker's UDP source port */
};

struct cp_job {
	uint16_t id;
	uint32_t tenant;        /* index into tenants */
	uint32_t class_idx;     /* index into classes (a training class) */
	uint32_t weight;        /* share among training jobs; >= 1 */
	uint8_t dtype;          /* DP_DTYPE_* */
	uint16_t chunk_size;    /* payload bytes per chunk */
	uint64_t slot_memory;   /* bytes of slot memory for this job (quota) */
	uint8_t frac_bits;      /* fixed-point fraction bits for int32 jobs */
	bool deterministic;     /* float results folded in rank order (docs/protocol.md) */
	bool fedavg;            /* "mode": "fedavg": chunks end in their weight */
	/* "completion" (docs/protocol.md section 5, "Partial rounds"): with
	 * partial set, a use also closes at quorum contributions (0: no
	 * quorum) or, deadline_ms after its first (0: no deadline), with at
	 * least min_ranks. */
	bool partial;
	uint16_t quorum;
	uint16_t min_ranks;
	uint32_t deadline_ms;
	bool keyed;             /* "key_file": messages carry tags (dp_auth.h) */
	uint8_t auth_cover;     /* enum dp_auth_cover ("auth_covers") */
	uint8_t key[16];        /* the key file's key (DP_AUTH_KEY_SIZE) */
	uint16_t n_workers;
	struct cp_worker *workers;  /* indexed by rank, 0 .. n_workers-1 */
	/* "parent" (a tree: docs/policy.md): this gateway sums its workers'
	 * contributions and sends each use's sum up as rank up_rank of the
	 * same job on the gateway at up_ip:up_port (its udp_port_base). */
	bool up;
	uint32_t up_node;       /* index into nodes (role "gateway") */
	uint32_t up_ip;
	uint16_t up_port;
	uint16_t up_rank;
};

struct cp_replica {
	uint32_t node;
	uint32_t ip;
	uint16_t port;
	uint32_t weight;        /* >= 1 */
};

struct cp_stage {
	uint16_t n_replicas;
	struct cp_replica *replicas;
};

struct cp_model {
	uint16_t id;
	uint32_t tenant;
	uint32_t class_idx;     /* an inference class */
	uint16_t n_stages;
	struct cp_stage *stages;    /* in order; stage s forwards to stage s+1 */
	bool reply_to_requester;    /* else reply_ip:reply_port */
	uint32_t reply_ip;
	uint16_t reply_port;
	uint32_t n_requesters;
	uint32_t *requesters;       /* node indices admitted to send requests */
	bool keyed;                 /* "key_file": every message is tagged */
	uint8_t key[16];            /* DP_AUTH_KEY_SIZE */
};

struct cp_policy {
	uint64_t version;
	uint32_t node_timeout_ms;   /* liveness: silent longer than this = down */
	uint32_t n_tenants;
	struct cp_tenant *tenants;
	uint32_t n_classes;
	struct cp_class *classes;
	uint32_t n_nodes;
	struct cp_node *nodes;
	uint32_t n_jobs;
	struct cp_job *jobs;        /* sorted by id, ids unique */
	uint32_t n_models;
	struct cp_model *models;    /* sorted by id, ids unique */
};

/* What the gateway has, for quota checks. A zero field is not checked. */
#define CP_LIMITS_IPS_MAX 8
struct cp_limits {
	uint64_t slot_memory;       /* total bytes of slot memory (all data lcores) */
	unsigned n_shards;          /* data lcores */
	uint16_t mtu;               /* smallest port MTU, bytes */
	unsigned n_gw_ips;          /* the gateway's own addresses (no node may use one) */
	uint32_t gw_ips[CP_LIMITS_IPS_MAX];
};

struct cp_gw_config;

/* The limits of a loaded gateway configuration: slot_memory x data lcores,
 * the data lcores, the smallest port MTU (1500 where a port leaves it to the
 * device) and the port addresses. */
void cp_limits_from_config(const struct cp_gw_config *cfg, struct cp_limits *lim);   /* any thread */

/* Parse and validate the policy at path. Every error found goes to diags
 * (FILE:LINE:COL: /json/path: reason), appended and in file order. lim may be
 * NULL (no gateway limits are checked). Returns 0 and *out, -EINVAL if the
 * policy is invalid, -ENOMEM, or -errno if the file cannot be read; *out is
 * NULL on any error. Any non-lcore thread; it allocates. */
int cp_policy_load(const char *path, const struct cp_limits *lim,
		   struct cp_policy **out, struct cp_diags *diags);

/* The same from a string already in memory; name is used in diagnostics. */
int cp_policy_parse(const char *text, size_t len, const char *name,
		    const struct cp_limits *lim, struct cp_policy **out,
		    struct cp_diags *diags);

/* The same through a parse cache (cp_json.h), for a file parsed again and
 * again with small changes: the result and the diagnostics are those of
 * cp_policy_parse(). cache NULL: no cache. The caller's thread only. */
struct cp_json_cache;
int cp_policy_parse_cached(const char *text, size_t len, const char *name,
			   const struct cp_limits *lim, struct cp_json_cache *cache,
			   struct cp_policy **out, struct cp_diags *diags);

void cp_policy_free(struct cp_policy *p);

/* Lookups (binary search); NULL if absent. Any thread. */
const struct cp_job *cp_policy_job_find(const struct cp_policy *p, uint16_t id);
const struct cp_model *cp_policy_model_find(const struct cp_policy *p, uint16_t id);

/*
 * Slot memory, the one formula (docs/policy.md, "Slot memory"):
 *
 *   elements per chunk = chunk_size / element size
 *   one slot           = 2 sets x elements per chunk x 4 bytes
 *                        (every type accumulates in 32 bits)
 *   slots of a job     = slot_memory / one slot, at most DP_PROTO_SLOTS_MAX,
 *                        rounded down to a multiple of n_shards
 *
 * Slot i of a job lives on shard i % n_shards, so every shard holds
 * slots / n_shards of them. A valid policy gives every job at least one slot
 * per shard. n_shards 0 counts as 1. Any thread.
 */
/* Bytes one slot index of j costs: its two sets' accumulators, and for a
 * deterministic float job the holds, for a partial job the trailers. */
uint64_t cp_job_slot_size(const struct cp_job *j);
uint32_t cp_job_slots(const struct cp_job *j, unsigned n_shards);

/* True if the two jobs are the same for the data plane (everything that
 * shapes slots and admission is equal), so their in-flight state can be kept
 * across a reload: id, dtype, chunk_size, slot_memory, frac_bits, every
 * rank's ip:port, and the parent (its ip:port and this gateway's rank
 * there). Tenant, class and weight may differ (they steer scheduling and
 * rates, not slot state); the new policy's values apply. Any thread. */
bool cp_job_same(const struct cp_job *a, const struct cp_job *b);

#endif /* CP_POLICY_H */
