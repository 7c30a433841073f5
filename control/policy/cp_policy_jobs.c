/* SPDX-License-Identifier: BSD-3-Clause */
/* Training jobs: their fields, their workers, and the slot-memory checks. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_auth.h"
#include "dp_proto.h"
#include "cp_policy_priv.h"

static const char *const job_keys[] = {
	"id", "tenant", "class", "weight", "dtype", "chunk_size", "slot_memory",
	"frac_bits", "workers", "key_file", "auth_covers", "deterministic", "completion", "mode",
	"parent", NULL,
};
static const char *const worker_keys[] = { "rank", "node", "port", NULL };
static const char *const completion_keys[] = { "quorum", "deadline_ms", "min_ranks", NULL };
static const char *const parent_keys[] = { "node", "port", "rank", NULL };
#define DEADLINE_MS_MAX 3600000u

#define JOB_SLOT_MEMORY_MAX (UINT64_C(1) << 40)
#define FRAC_BITS_MAX 30u
#define FRAC_BITS_DEFAULT 16u
/* IPv4 + UDP + daitn header: what a chunk adds to the IP MTU it needs. */
#define CHUNK_MTU_OVERHEAD (DP_PROTO_FRAME_HDR_SIZE - 14u)

static void
worker_read(struct pol_build *b, const json_t *obj, size_t rank, struct cp_worker *w)
{
	struct cp_json_ctx *c = &b->c;
	uint64_t r = rank, port = 0;

	cp_json_keys_check(c, obj, worker_keys);
	if (cp_json_get_uint(c, obj, "rank", false, 0, DP_PROTO_WORKERS_MAX - 1, &r) == CP_JSON_OK &&
	    r != rank) {
		size_t m = cp_json_push_key(c, "rank");

		cp_json_error(c, "rank %" PRIu64 " listed at position %zu: list workers in rank "
			      "order, ranks 0 .. n-1", r, rank);
		cp_json_pop(c, m);
	}
	/* A rank on a gateway node is a child gateway of a tree, which sends
	 * its own workers' sum from its udp_port_base. */
	w->node = pol_node_ref(b, obj, "node", CP_ROLE_WORKER | CP_ROLE_GATEWAY);
	if (w->node != UINT32_MAX)
		w->ip = b->p->nodes[w->node].ip;
	cp_json_get_uint(c, obj, "port", true, 1, 65535, &port);
	w->port = (uint16_t)port;
}

static void
worker_dup(struct pol_build *b, const struct pol_addr *later, const struct pol_addr *first)
{
	char a[16];
	size_t m = cp_json_push_index(&b->c, later->a);

	cp_json_error(&b->c, "same address %s:%u as rank %u: each rank needs its own ip:port",
		      cp_json_ipv4_format((uint32_t)(later->key >> 16), a, sizeof(a)),
		      (unsigned)(later->key & 0xffff), first->a);
	cp_json_pop(&b->c, m);
}

static void
workers_read(struct pol_build *b, const json_t *obj, struct cp_job *j)
{
	struct cp_json_ctx *c = &b->c;
	json_t *arr = NULL, *v;
	struct pol_addr *addrs;
	size_t i, mark, n_addrs = 0;

	if (cp_json_get_array(c, obj, "workers", true, 1, DP_PROTO_WORKERS_MAX, &arr) != CP_JSON_OK)
		return;
	j->workers = calloc(json_array_size(arr), sizeof(*j->workers));
	addrs = calloc(json_array_size(arr), sizeof(*addrs));
	if (j->workers == NULL || addrs == NULL) {
		free(addrs);
		b->err = -ENOMEM;
		return;
	}
	j->n_workers = (uint16_t)json_array_size(arr);
	mark = cp_json_push_key(c, "workers");
	json_array_foreach(arr, i, v) {
		struct cp_worker *w = &j->workers[i];
		size_t m = cp_json_push_index(c, i);

		w->node = UINT32_MAX;
		if (cp_json_want_object(c, v))
			worker_read(b, v, i, w);
		if (w->node != UINT32_MAX && w->port != 0)
			addrs[n_addrs++] = (struct pol_addr){
				(uint64_t)w->ip << 16 | w->port, (uint32_t)i, 0 };
		cp_json_pop(c, m);
	}
	pol_addrs_dups(addrs, n_addrs, worker_dup, b);
	free(addrs);
	cp_json_pop(c, mark);
}

/* The slot memory of a job must give every shard at least one slot, and not
 * more slots than the protocol can address. */
static bool
job_slots_check(struct pol_build *b, const struct cp_job *j)
{
	struct cp_json_ctx *c = &b->c;
	unsigned shards = b->lim->n_shards != 0 ? b->lim->n_shards : 1;
	uint64_t slot = cp_job_slot_size(j);
	uint64_t n = j->slot_memory / slot;
	size_t esize = dp_proto_dtype_size(j->dtype);
	char s1[32], s2[32], s3[32];
	size_t m = cp_json_push_key(c, "slot_memory");
	unsigned before = c->n_errors;

	if (n < shards && shards == 1)
		cp_json_error(c, "%s holds no slot: one slot of this job takes %s "
			      "(2 sets x %zu elements x 4 bytes)",
			      cp_json_size_format(j->slot_memory, s1, sizeof(s1)),
			      cp_json_size_format(slot, s2, sizeof(s2)), j->chunk_size / esize);
	else if (n < shards)
		cp_json_error(c, "%s holds %" PRIu64 " slot%s, fewer than one for each of the %u "
			      "data lcores: one slot of this job takes %s (2 sets x %zu elements "
			      "x 4 bytes); give at least %s",
			      cp_json_size_format(j->slot_memory, s1, sizeof(s1)), n,
			      n == 1 ? "" : "s", shards,
			      cp_json_size_format(slot, s2, sizeof(s2)), j->chunk_size / esize,
			      cp_json_size_format(slot * shards, s3, sizeof(s3)));
	else if (n > DP_PROTO_SLOTS_MAX)
		cp_json_error(c, "%s holds %" PRIu64 " slots, more than the %u the protocol "
			      "addresses; at most %s is usable",
			      cp_json_size_format(j->slot_memory, s1, sizeof(s1)), n,
			      DP_PROTO_SLOTS_MAX,
			      cp_json_size_format(slot * DP_PROTO_SLOTS_MAX, s2, sizeof(s2)));
	cp_json_pop(c, m);
	return c->n_errors == before;
}

bool
pol_key_file(struct pol_build *b, const json_t *obj, uint8_t key[DP_AUTH_KEY_SIZE])
{
	struct cp_json_ctx *c = &b->c;
	const char *kf = NULL, *slash = strrchr(c->file, '/');
	char path[PATH_MAX], err[PATH_MAX + 128];
	bool ok = false;
	size_t m;

	if (cp_json_get_string(c, obj, "key_file", false, PATH_MAX / 2, &kf) != CP_JSON_OK)
		return false;
	m = cp_json_push_key(c, "key_file");
	if (kf[0] != '/' && slash != NULL)
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - c->file), c->file, kf);
	else
		snprintf(path, sizeof(path), "%s", kf);
	if (dp_auth_key_file_read(path, key, err, sizeof(err)) == 0)
		ok = true;
	else
		cp_json_error(c, "%s", err);
	cp_json_pop(c, m);
	return ok;
}

/* "key_file" and "auth_covers". */
static void
job_key_read(struct pol_build *b, const json_t *obj, struct cp_job *j)
{
	struct cp_json_ctx *c = &b->c;
	const char *cover = NULL;

	j->keyed = pol_key_file(b, obj, j->key);
	if (cp_json_get_string(c, obj, "auth_covers", false, 16, &cover) != CP_JSON_OK)
		return;
	if (strcmp(cover, "payload") == 0 || strcmp(cover, "header") == 0) {
		j->auth_cover = strcmp(cover, "header") == 0 ? DP_AUTH_COVER_HEADER
							     : DP_AUTH_COVER_PAYLOAD;
		if (json_object_get(obj, "key_file") == NULL) {
			size_t m = cp_json_push_key(c, "auth_covers");

			cp_json_error(c, "only a job with a \"key_file\" has tags to cover anything");
			cp_json_pop(c, m);
		}
	} else {
		size_t m = cp_json_push_key(c, "auth_covers");

		cp_json_error(c, "expected \"payload\" or \"header\", got \"%s\"", cover);
		cp_json_pop(c, m);
	}
}

/* "completion": a quorum, a deadline (with the fewest ranks it may close
 * with), or both (docs/protocol.md section 5, "Partial rounds"). Read after
 * the workers, whose number bounds them. over: the frame bytes a chunk
 * adds to the MTU it needs without the ranks trailer. */
static void
job_completion_read(struct pol_build *b, const json_t *obj, struct cp_job *j, uint64_t over)
{
	struct cp_json_ctx *c = &b->c;
	json_t *co = json_object_get(obj, "completion");
	uint64_t quorum = 0, deadline = 0, min = 1, nw = j->n_workers ? j->n_workers : 1;
	size_t m;

	if (co == NULL)
		return;
	m = cp_json_push_key(c, "completion");
	if (!cp_json_want_object(c, co)) {
		cp_json_pop(c, m);
		return;
	}
	cp_json_keys_check(c, co, completion_keys);
	cp_json_get_uint(c, co, "quorum", false, 1, nw, &quorum);
	cp_json_get_uint(c, co, "deadline_ms", false, 1, DEADLINE_MS_MAX, &deadline);
	if (json_object_get(co, "min_ranks") != NULL && deadline == 0) {
		size_t k = cp_json_push_key(c, "min_ranks");

		cp_json_error(c, "only a \"deadline_ms\" closes with the fewest ranks; give one");
		cp_json_pop(c, k);
	}
	cp_json_get_uint(c, co, "min_ranks", false, 1, nw, &min);
	if (quorum == 0 && deadline == 0 && json_object_get(co, "quorum") == NULL &&
	    json_object_get(co, "deadline_ms") == NULL)
		cp_json_error(c, "give a \"quorum\", a \"deadline_ms\" or both (without either "
			      "every round waits for all ranks: leave \"completion\" out)");
	j->partial = true;
	j->quorum = (uint16_t)quorum;
	j->deadline_ms = (uint32_t)deadline;
	j->min_ranks = (uint16_t)min;
	if (b->lim->mtu != 0 && j->n_workers != 0 &&
	    j->chunk_size + over + dp_proto_ranks_size(j->n_workers) > b->lim->mtu)
		cp_json_error(c, "a partial job's messages carry %zu bytes of ranks: its %u-byte "
			      "chunks need an MTU of %" PRIu64 ", more than the gateway's %u",
			      dp_proto_ranks_size(j->n_workers), j->chunk_size,
			      j->chunk_size + over + dp_proto_ranks_size(j->n_workers), b->lim->mtu);
	cp_json_pop(c, m);
}

/* "mode": "sum" (the default) or "fedavg", a float job whose chunks end
 * in their contributor's weight (docs/protocol.md section 5, "Federated
 * averaging"). Read after the dtype. */
static void
job_mode_read(struct pol_build *b, const json_t *obj, struct cp_job *j)
{
	struct cp_json_ctx *c = &b->c;
	const char *mode = "sum";
	size_t m;

	if (cp_json_get_string(c, obj, "mode", false, 16, &mode) != CP_JSON_OK)
		return;
	m = cp_json_push_key(c, "mode");
	if (strcmp(mode, "fedavg") == 0 && j->dtype == DP_DTYPE_I32)
		cp_json_error(c, "a \"fedavg\" job averages floats: use float32, bfloat16 or "
			      "float16 (this job is int32)");
	else if (strcmp(mode, "fedavg") == 0)
		j->fedavg = true;
	else if (strcmp(mode, "sum") != 0)
		cp_json_error(c, "unknown mode \"%s\" (use \"sum\" or \"fedavg\")", mode);
	cp_json_pop(c, m);
}

/* "parent": this gateway is a leaf of a tree (docs/policy.md, "Trees") and
 * sends each use's sum up as one rank of the same job on the parent. Read
 * after the workers and the completion: what the parent cannot take apart
 * is refused here. */
static void
job_parent_read(struct pol_build *b, const json_t *obj, struct cp_job *j)
{
	struct cp_json_ctx *c = &b->c;
	json_t *pa = json_object_get(obj, "parent");
	uint64_t port = 0, rank = 0;
	char a[16];
	size_t m, k;

	if (pa == NULL)
		return;
	m = cp_json_push_key(c, "parent");
	if (!cp_json_want_object(c, pa)) {
		cp_json_pop(c, m);
		return;
	}
	cp_json_keys_check(c, pa, parent_keys);
	j->up = true;
	j->up_node = pol_node_ref(b, pa, "node", CP_ROLE_GATEWAY);
	cp_json_get_uint(c, pa, "port", true, 1, 65535, &port);
	cp_json_get_uint(c, pa, "rank", true, 0, DP_PROTO_WORKERS_MAX - 1, &rank);
	j->up_port = (uint16_t)port;
	j->up_rank = (uint16_t)rank;
	/* The parent sees this gateway's sum as one rank: whatever needs the
	 * ranks apart (their salts, which of them a partial sum holds, their
	 * order) cannot cross it. */
	if (json_object_get(obj, "key_file") != NULL)
		cp_json_error(c, "a keyed job cannot span gateways yet: its run's salt is per "
			      "gateway");
	if (j->partial)
		cp_json_error(c, "a partial job (\"completion\") cannot span gateways: the parent "
			      "could not tell which of this gateway's ranks a sum holds");
	if (j->deterministic && j->dtype != 0 && j->dtype != DP_DTYPE_I32)
		cp_json_error(c, "a \"deterministic\" %s job cannot span gateways: the parent "
			      "would add this gateway's sum as one rank, out of rank order "
			      "(an int32 job may)", dp_proto_dtype_name(j->dtype));
	if (j->up_node != UINT32_MAX) {
		j->up_ip = b->p->nodes[j->up_node].ip;
		k = cp_json_push_key(c, "node");
		for (unsigned g = 0; g < b->lim->n_gw_ips; g++)
			if (j->up_ip == b->lim->gw_ips[g])
				cp_json_error(c, "the parent is this gateway itself (%s is one of its "
					      "addresses)", cp_json_ipv4_format(j->up_ip, a, sizeof(a)));
		for (uint16_t r = 0; r < j->n_workers; r++)
			if (j->workers[r].node == j->up_node) {
				cp_json_error(c, "node \"%s\" is also the node of rank %u: a job's "
					      "parent cannot be one of its workers",
					      b->p->nodes[j->up_node].id, r);
				break;
			}
		cp_json_pop(c, k);
	}
	cp_json_pop(c, m);
}

static void
job_read(struct pol_build *b, const json_t *obj, size_t i)
{
	struct cp_json_ctx *c = &b->c;
	struct cp_job *j = &b->p->jobs[i];
	uint64_t id = 0, weight = 1, chunk = DP_PROTO_CHUNK_SIZE_DEFAULT, frac = 0, over;
	const char *dtype = "float32";
	bool shape_ok = true, frac_given;
	int rc, mem_rc;

	cp_json_keys_check(c, obj, job_keys);
	cp_json_get_uint(c, obj, "id", true, 1, CP_JOBS_MAX, &id);
	j->id = (uint16_t)id;
	j->tenant = pol_tenant_ref(b, obj);
	j->class_idx = pol_class_ref(b, obj, CP_CLASS_TRAINING);
	cp_json_get_uint(c, obj, "weight", false, 1, 65535, &weight);
	j->weight = (uint32_t)weight;

	rc = cp_json_get_string(c, obj, "dtype", false, 32, &dtype);
	j->dtype = rc != CP_JSON_BAD ? dp_proto_dtype_parse(dtype) : 0;
	if (rc == CP_JSON_OK && j->dtype == 0) {
		size_t m = cp_json_push_key(c, "dtype");

		cp_json_error(c, "unknown dtype \"%s\" (use float32, int32, bfloat16 or float16)",
			      dtype);
		cp_json_pop(c, m);
	}
	shape_ok = j->dtype != 0;
	job_key_read(b, obj, j);
	/* What a chunk adds to the IP MTU it needs: headers, and a tag. */
	over = CHUNK_MTU_OVERHEAD + (j->keyed ? DP_PROTO_TAG_SIZE : 0);

	rc = cp_json_get_uint(c, obj, "chunk_size", false, DP_PROTO_CHUNK_SIZE_MIN,
			      DP_PROTO_CHUNK_SIZE_MAX, &chunk);
	j->chunk_size = (uint16_t)chunk;
	if (rc == CP_JSON_BAD) {
		shape_ok = false;
	} else if (chunk % 64 != 0) {
		size_t m = cp_json_push_key(c, "chunk_size");

		cp_json_error(c, "must be a multiple of 64 (got %" PRIu64 "): payloads fill whole "
			      "cache lines", chunk);
		cp_json_pop(c, m);
		shape_ok = false;
	} else if (b->lim->mtu != 0 && chunk + over > b->lim->mtu) {
		size_t m = cp_json_push_key(c, "chunk_size");

		cp_json_error(c, "%s%" PRIu64 "-byte chunks need an MTU of %" PRIu64 ", more "
			      "than the gateway's %u", rc == CP_JSON_OK ? "" : "the default ",
			      chunk, chunk + over, b->lim->mtu);
		cp_json_pop(c, m);
	}

	frac_given = json_object_get(obj, "frac_bits") != NULL;
	if (frac_given && j->dtype != 0 && j->dtype != DP_DTYPE_I32) {
		size_t m = cp_json_push_key(c, "frac_bits");

		cp_json_error(c, "only int32 jobs use frac_bits (this job is %s)",
			      dp_proto_dtype_name(j->dtype));
		cp_json_pop(c, m);
	} else {
		frac = j->dtype == DP_DTYPE_I32 ? FRAC_BITS_DEFAULT : 0;
		cp_json_get_uint(c, obj, "frac_bits", false, 0, FRAC_BITS_MAX, &frac);
	}
	j->frac_bits = (uint8_t)frac;
	/* An int32 sum wraps modulo 2^32 and is the same in any order: the
	 * key is accepted there and changes nothing. */
	cp_json_get_bool(c, obj, "deterministic", false, &j->deterministic);
	job_mode_read(b, obj, j);

	mem_rc = cp_json_get_size(c, obj, "slot_memory", true, 1, JOB_SLOT_MEMORY_MAX,
				  &j->slot_memory);
	workers_read(b, obj, j);
	job_completion_read(b, obj, j, over);
	job_parent_read(b, obj, j);
	/* Checked once the workers and the completion are known: they shape a
	 * slot's cost (a deterministic job's holds and a partial job's
	 * trailer are per rank). A quota already reported as unusable would
	 * only repeat itself in the sums. */
	if (mem_rc == CP_JSON_OK)
		b->job_mem_ok[i] = j->tenant != UINT32_MAX && (!shape_ok || job_slots_check(b, j));
}

void
pol_jobs_read(struct pol_build *b, const json_t *root)
{
	json_t *arr = NULL, *v;
	size_t i, mark, n;

	if (cp_json_get_array(&b->c, root, "jobs", false, 0, CP_JOBS_MAX, &arr) != CP_JSON_OK)
		return;
	n = json_array_size(arr);
	b->p->jobs = calloc(n != 0 ? n : 1, sizeof(*b->p->jobs));
	b->job_mem_ok = calloc(n != 0 ? n : 1, sizeof(*b->job_mem_ok));
	if (b->p->jobs == NULL || b->job_mem_ok == NULL) {
		b->err = -ENOMEM;
		return;
	}
	b->p->n_jobs = (uint32_t)n;
	mark = cp_json_push_key(&b->c, "jobs");
	json_array_foreach(arr, i, v) {
		size_t m = cp_json_push_index(&b->c, i);

		if (cp_json_want_object(&b->c, v))
			job_read(b, v, i);
		cp_json_pop(&b->c, m);
		if (b->err != 0)
			break;
	}
	cp_json_pop(&b->c, mark);
}

static void
job_id_dup(struct pol_build *b, const struct pol_addr *later, const struct pol_addr *first)
{
	char path[40];

	snprintf(path, sizeof(path), "/jobs/%u/id", later->a);
	cp_json_error_at(&b->c, path, CP_JSON_AT_VALUE, "duplicate job id %u (also /jobs/%u)",
			 (unsigned)later->key, first->a);
}

/* Quotas are checked as declared, which bounds what the data plane takes:
 * a job uses cp_job_slots() x cp_job_slot_size() <= its slot_memory, and
 * each shard holds 1/n_shards of that. */
static void
job_quotas_check(struct pol_build *b)
{
	const struct cp_policy *p = b->p;
	uint64_t *per_tenant = calloc(p->n_tenants != 0 ? p->n_tenants : 1, sizeof(*per_tenant));
	uint64_t total = 0;
	char s1[32], s2[32];

	if (per_tenant == NULL) {
		b->err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < p->n_jobs; i++) {
		if (!b->job_mem_ok[i])
			continue;
		per_tenant[p->jobs[i].tenant] += p->jobs[i].slot_memory;
		total += p->jobs[i].slot_memory;
	}
	for (uint32_t t = 0; t < p->n_tenants; t++) {
		char path[48];

		if (p->tenants[t].slot_memory == 0 || per_tenant[t] <= p->tenants[t].slot_memory)
			continue;
		snprintf(path, sizeof(path), "/tenants/%u/slot_memory", t);
		cp_json_error_at(&b->c, path, CP_JSON_AT_VALUE,
				 "the jobs of tenant \"%s\" have quotas of %s in all, more than "
				 "its %s", p->tenants[t].id,
				 cp_json_size_format(per_tenant[t], s1, sizeof(s1)),
				 cp_json_size_format(p->tenants[t].slot_memory, s2, sizeof(s2)));
	}
	if (b->lim->slot_memory != 0 && total > b->lim->slot_memory)
		cp_json_error_at(&b->c, "/jobs", CP_JSON_AT_VALUE,
				 "the jobs have slot quotas of %s in all, more than the gateway's "
				 "%s (its slot_memory x %u data lcore%s)",
				 cp_json_size_format(total, s1, sizeof(s1)),
				 cp_json_size_format(b->lim->slot_memory, s2, sizeof(s2)),
				 b->lim->n_shards, b->lim->n_shards == 1 ? "" : "s");
	free(per_tenant);
}

void
pol_jobs_check(struct pol_build *b)
{
	struct pol_addr *ids;
	size_t n = 0;

	if (b->p->n_jobs == 0)
		return;
	ids = calloc(b->p->n_jobs, sizeof(*ids));
	if (ids == NULL) {
		b->err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < b->p->n_jobs; i++)
		if (b->p->jobs[i].id != 0)
			ids[n++] = (struct pol_addr){ b->p->jobs[i].id, i, 0 };
	pol_addrs_dups(ids, n, job_id_dup, b);
	free(ids);
	job_quotas_check(b);
}
