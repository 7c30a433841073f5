/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside cp_policy: the state of one parse. The sections are read in order
 * (tenants, classes, nodes, then jobs and models, which refer to them); every
 * check that spans objects runs before jobs and models are sorted by id, while
 * array index i is still the element at /jobs/i.
 */
#ifndef CP_POLICY_PRIV_H
#define CP_POLICY_PRIV_H

#include "cp_json.h"
#include "cp_policy.h"

/* A sorted view of the ids of one section, for references and duplicates. */
struct pol_name {
	const char *name;
	uint32_t idx;
};

struct pol_names {
	struct pol_name *v;
	uint32_t n;
};

struct pol_build {
	struct cp_json_ctx c;
	const struct cp_limits *lim;     /* never NULL: zeroes when not given */
	struct cp_policy *p;
	struct pol_names tenants, classes, nodes;
	bool tenants_implicit;           /* "tenants" absent: one tenant "default" */
	uint32_t class_kind_bad;         /* bit i: /classes/i has no valid kind */
	bool *job_mem_ok;                /* /jobs/i/slot_memory valid, tenant resolved:
					  * counts towards the quotas */
	int err;                         /* -ENOMEM */
};

/* pol_names over n records of stride bytes whose first member is an id
 * (empty ids are left out). Equal ids are reported as duplicates of the
 * first, at section/<i>/id; kind names the section ("node"). */
int pol_names_build(struct pol_build *b, struct pol_names *ix, const void *base,
		    size_t stride, uint32_t n, const char *section, const char *kind);
/* Index of name, or -1. */
int64_t pol_names_find(const struct pol_names *ix, const char *name);
/* Report "unknown <kind> \"name\"" at the current path with a suggestion. */
void pol_names_unknown(struct pol_build *b, const struct pol_names *ix,
		       const char *kind, const char *name);
void pol_names_free(struct pol_names *ix);

/*
 * Resolve member key (a tenant or class id) of obj at the current path.
 * Absent: the default (tenant "default"; the first class of kind want).
 * Returns the index, or UINT32_MAX after reporting why.
 */
uint32_t pol_tenant_ref(struct pol_build *b, const json_t *obj);
uint32_t pol_class_ref(struct pol_build *b, const json_t *obj, enum cp_class_kind want);
/* Resolve member key (a node id) of obj, which must have one of the roles
 * in the mask roles (enum cp_role bits; 0: any); UINT32_MAX if not. */
uint32_t pol_node_ref(struct pol_build *b, const json_t *obj, const char *key,
		      uint32_t roles);
/* The same for a node id given as the string value v at the current path. */
uint32_t pol_node_ref_value(struct pol_build *b, const json_t *v, uint32_t roles);

const char *pol_kind_name(enum cp_class_kind k);
const char *pol_role_name(enum cp_role r);

/* Member "key_file" of obj (a job or model): a path relative to the policy
 * file's folder, read with dp_auth_key_file_read() into key. True when
 * present and readable; an unreadable one is reported at its path. */
bool pol_key_file(struct pol_build *b, const json_t *obj, uint8_t key[16]);

/* Sections. Each reads its array (if present) and reports what it finds. */
void pol_jobs_read(struct pol_build *b, const json_t *root);
void pol_models_read(struct pol_build *b, const json_t *root);
/* Checks across jobs: duplicate ids, tenant and gateway slot quotas. */
void pol_jobs_check(struct pol_build *b);
void pol_models_check(struct pol_build *b);

/* An ip:port pair and where it was seen, for overlap checks. */
struct pol_addr {
	uint64_t key;        /* ip << 16 | port */
	uint32_t a, b;       /* owner indices (rank, or stage and replica) */
};
/* Sort addrs and call dup(ctx, later, first) for every repeat. */
void pol_addrs_dups(struct pol_addr *v, size_t n,
		    void (*dup)(struct pol_build *, const struct pol_addr *,
				const struct pol_addr *),
		    struct pol_build *b);

#endif /* CP_POLICY_PRIV_H */
