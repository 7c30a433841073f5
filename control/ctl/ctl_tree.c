/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The checks of daitnctl validate --tree (ctl_tree.h). Each job id that spans
 * gateways is checked on its own: its copies on the gateways given, linked
 * by the parents' addresses. A link is followed only once the gateway
 * it leads to has the job, so every later check can rely on it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cp_json.h"
#include "dp_proto.h"
#include "ctl_tree.h"

#define NONE UINT32_MAX
#define ADDR_MAX 24     /* "255.255.255.255:65535" */

/* A file read again for the positions of its errors, on the first one. */
struct tree_file {
	char *text;
	size_t len;
	json_t *root;           /* a policy's: where each job id is in "jobs" */
	struct cp_json_ctx c;
	bool opened;
};

/* A gateway's address, for lookups. */
struct gw_ref {
	uint64_t key;           /* ip << 16 | port */
	uint32_t g;
};

struct tree {
	const struct ctl_tree_gw *gws;
	unsigned n;
	struct gw_ref *addrs;           /* every gateway's, by key then gateway */
	size_t n_addrs;
	struct cp_diags *diags;
	struct tree_file *cfgs;         /* per gateway */
	struct tree_file *pols;
	unsigned n_errors;
	int err;                        /* -ENOMEM */
	/* The job id being checked, per gateway: */
	uint16_t id;
	const struct cp_job **job;      /* its job of that id, or NULL */
	uint32_t *up;                   /* the gateway its job's parent is, if given
					 * and if it has the job; else NONE */
};

static const char *
addr_format(uint32_t ip, uint16_t port, char *buf)
{
	char a[16];

	snprintf(buf, ADDR_MAX, "%s:%u", cp_json_ipv4_format(ip, a, sizeof(a)), port);
	return buf;
}

/* A gateway's address for people: its first port's. */
static const char *
gw_addr(const struct tree *t, uint32_t g, char *buf)
{
	const struct cp_gw_config *cfg = t->gws[g].cfg;

	return addr_format(cfg->n_ports > 0 ? cfg->ports[0].ip : 0, cfg->udp_port, buf);
}

static bool
gw_has(const struct tree *t, uint32_t g, uint32_t ip, uint16_t port)
{
	const struct cp_gw_config *cfg = t->gws[g].cfg;

	if (port != cfg->udp_port)
		return false;
	for (unsigned k = 0; k < cfg->n_ports; k++)
		if (cfg->ports[k].ip == ip)
			return true;
	return false;
}

static int
gw_ref_cmp(const void *pa, const void *pb)
{
	const struct gw_ref *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->g < b->g ? -1 : a->g > b->g;
}

/* The first gateway given that listens on ip:port, or NONE. Asked for every
 * rank of every job: a binary search. */
static uint32_t
gw_find(const struct tree *t, uint32_t ip, uint16_t port)
{
	uint64_t key = (uint64_t)ip << 16 | port;
	size_t lo = 0, hi = t->n_addrs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->addrs[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n_addrs && t->addrs[lo].key == key ? t->addrs[lo].g : NONE;
}

/* A rank that is a child gateway rather than a worker: on a node with role
 * "gateway", or at the address of a gateway given (whatever the node's
 * roles say, which is then an error of its own). */
static bool
rank_is_child(const struct tree *t, const struct cp_policy *p, const struct cp_worker *w)
{
	return (p->nodes[w->node].roles & CP_ROLE_GATEWAY) != 0 ||
	       gw_find(t, w->ip, w->port) != NONE;
}

static void
file_open(struct tree *t, struct tree_file *f, const char *name, bool policy)
{
	/* A file that cannot be read again (it changed since) still gets its
	 * errors, without a position. */
	f->opened = true;
	if (cp_json_file_read(name, &f->text, &f->len) != 0) {
		f->text = NULL;
		f->len = 0;
	}
	cp_json_ctx_init(&f->c, name, f->text, f->len, t->diags);
	if (policy && f->text != NULL)
		f->root = json_loadb(f->text, f->len, JSON_REJECT_DUPLICATES, NULL);
}

static void
file_close(struct tree_file *f)
{
	if (!f->opened)
		return;
	cp_json_ctx_fini(&f->c);
	json_decref(f->root);
	free(f->text);
}

static void
file_error(struct tree *t, struct tree_file *f, const char *path, const char *msg)
{
	t->n_errors++;
	cp_json_error_at(&f->c, path, CP_JSON_AT_VALUE, "%s", msg);
	if (f->c.err != 0)
		t->err = f->c.err;
}

/* An error in gateway g's configuration at path. */
static void __attribute__((format(printf, 4, 5)))
cfg_error(struct tree *t, uint32_t g, const char *path, const char *fmt, ...)
{
	struct tree_file *f = &t->cfgs[g];
	char msg[CP_DIAG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!f->opened)
		file_open(t, f, t->gws[g].name, false);
	file_error(t, f, path, msg);
}

/* An error in gateway g's policy, at sub under the job being checked:
 * /jobs/i is where the file has it (the policy holds its jobs by id). */
static void __attribute__((format(printf, 4, 5)))
job_error(struct tree *t, uint32_t g, const char *sub, const char *fmt, ...)
{
	struct tree_file *f = &t->pols[g];
	char msg[CP_DIAG_MSG_MAX], path[CP_DIAG_PATH_MAX];
	json_t *jobs, *v;
	size_t i;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!f->opened)
		file_open(t, f, t->gws[g].policy_path, true);
	snprintf(path, sizeof(path), "/jobs");
	jobs = f->root != NULL ? json_object_get(f->root, "jobs") : NULL;
	json_array_foreach(jobs, i, v)
		if (json_integer_value(json_object_get(v, "id")) == t->id) {
			snprintf(path, sizeof(path), "/jobs/%zu%s", i, sub);
			break;
		}
	file_error(t, f, path, msg);
}

/* Each gateway its own addresses: a parent or a rank must name one. */
static void
addresses_check(struct tree *t)
{
	char a[ADDR_MAX], path[32];

	for (uint32_t h = 1; h < t->n; h++) {
		const struct cp_gw_config *cfg = t->gws[h].cfg;

		for (unsigned k = 0; k < cfg->n_ports; k++) {
			uint32_t g = gw_find(t, cfg->ports[k].ip, cfg->udp_port);

			if (g >= h)
				continue;
			snprintf(path, sizeof(path), "/ports/%u/ip", k);
			cfg_error(t, h, path, "%s is also the address of the gateway %s: each "
				  "gateway of a tree needs its own ip:udp_port",
				  addr_format(cfg->ports[k].ip, cfg->udp_port, a), t->gws[g].name);
		}
	}
}

/* The leaf g's rank on its parent pg is its own address. */
static void
leaf_rank_check(struct tree *t, uint32_t g, uint32_t pg)
{
	const struct cp_job *j = t->job[g], *pj = t->job[pg];
	const struct cp_policy *pp = t->gws[pg].p;
	const char *leaf = t->gws[g].name, *parent = t->gws[pg].name;
	const struct cp_worker *w;
	char a[ADDR_MAX], b[ADDR_MAX], sub[32];
	uint32_t mine = NONE, other;

	if (j->up_rank >= pj->n_workers) {
		job_error(t, g, "/parent/rank", "job %u on the parent %s has ranks 0 .. %u only",
			  t->id, parent, pj->n_workers - 1u);
		return;
	}
	w = &pj->workers[j->up_rank];
	if (gw_has(t, g, w->ip, w->port)) {
		if ((pp->nodes[w->node].roles & CP_ROLE_GATEWAY) == 0) {
			snprintf(sub, sizeof(sub), "/workers/%u/node", j->up_rank);
			job_error(t, pg, sub, "rank %u of job %u is the child gateway %s (%s), but "
				  "node \"%s\" has no role \"gateway\"", j->up_rank, t->id, leaf,
				  addr_format(w->ip, w->port, a), pp->nodes[w->node].id);
		}
		return;
	}
	for (uint32_t r = 0; r < pj->n_workers && mine == NONE; r++)
		if (gw_has(t, g, pj->workers[r].ip, pj->workers[r].port))
			mine = r;
	/* Where the parent has the leaf elsewhere, the leaf named the wrong
	 * rank; where it has it nowhere, the parent's rank is what is wrong. */
	if (mine == NONE) {
		snprintf(sub, sizeof(sub), "/workers/%u", j->up_rank);
		job_error(t, pg, sub, "rank %u of job %u is %s, not the child gateway %s (%s) "
			  "that names it as parent", j->up_rank, t->id,
			  addr_format(w->ip, w->port, a), leaf, gw_addr(t, g, b));
		return;
	}
	other = gw_find(t, w->ip, w->port);
	if (other != NONE && t->up[other] == pg && t->job[other]->up_rank == j->up_rank)
		job_error(t, g, "/parent/rank", "rank %u of job %u on %s is %s (%s), which names "
			  "it too; this gateway (%s) is rank %u there", j->up_rank, t->id, parent,
			  t->gws[other].name, addr_format(w->ip, w->port, a), gw_addr(t, g, b),
			  mine);
	else
		job_error(t, g, "/parent/rank", "rank %u of job %u on %s is %s, not this gateway "
			  "(%s), which is rank %u there", j->up_rank, t->id, parent,
			  addr_format(w->ip, w->port, a), gw_addr(t, g, b), mine);
}

static const char *
mode_name(const struct cp_job *j)
{
	return j->fedavg ? "fedavg" : "sum";
}

/* The leaf joins only a parent job that takes its sums as they are (the
 * gateway's own check when it joins, gw_tree.c): say so before it runs. */
static void
leaf_shape_check(struct tree *t, uint32_t g, uint32_t pg)
{
	const struct cp_job *j = t->job[g], *pj = t->job[pg];
	const char *parent = t->gws[pg].name;
	unsigned lcores = t->gws[g].cfg->n_data_lcores;
	uint32_t slots = cp_job_slots(j, lcores), pslots;
	char s1[32];

	if (j->dtype != pj->dtype)
		job_error(t, g, "/dtype", "dtype %s here, %s on the parent %s: every level of a "
			  "tree adds the same type", dp_proto_dtype_name(j->dtype),
			  dp_proto_dtype_name(pj->dtype), parent);
	else if (j->frac_bits != pj->frac_bits)
		job_error(t, g, "/frac_bits", "frac_bits %u here, %u on the parent %s: every "
			  "level of a tree needs the same fixed point", j->frac_bits,
			  pj->frac_bits, parent);
	if (j->chunk_size != pj->chunk_size)
		job_error(t, g, "/chunk_size", "chunk_size %u here, %u on the parent %s: every "
			  "level of a tree cuts the same chunks", j->chunk_size, pj->chunk_size,
			  parent);
	if (j->fedavg != pj->fedavg)
		job_error(t, g, "/mode", "mode \"%s\" here, \"%s\" on the parent %s: every level "
			  "of a tree combines the same way", mode_name(j), mode_name(pj), parent);
	pslots = cp_job_slots(pj, t->gws[pg].cfg->n_data_lcores);
	if (slots > pslots)
		job_error(t, g, "/slot_memory", "%s gives %" PRIu32 " slots on this gateway's %u "
			  "data lcore%s, more than the %" PRIu32 " of job %u on the parent %s: "
			  "a leaf joins no parent with fewer slots",
			  cp_json_size_format(j->slot_memory, s1, sizeof(s1)), slots, lcores,
			  lcores == 1 ? "" : "s", pslots, t->id, parent);
}

static void
leaf_check(struct tree *t, uint32_t g)
{
	const struct cp_job *j = t->job[g];
	uint32_t pg = gw_find(t, j->up_ip, j->up_port);
	char a[ADDR_MAX];

	if (pg == NONE) {
		job_error(t, g, "/parent/node", "no gateway given listens on %s (the parent's "
			  "ip:udp_port): give its configuration too",
			  addr_format(j->up_ip, j->up_port, a));
		return;
	}
	if (t->job[pg] == NULL) {
		job_error(t, g, "/parent/node", "the parent %s (%s) has no job %u",
			  t->gws[pg].name, gw_addr(t, pg, a), t->id);
		return;
	}
	leaf_rank_check(t, g, pg);
	leaf_shape_check(t, g, pg);
}

/* Parents followed from every gateway end at a root. */
static void
cycles_check(struct tree *t)
{
	uint8_t *state = calloc(t->n, 1);       /* 0 new, 1 on this walk, 2 done */
	uint32_t *path = calloc(t->n, sizeof(*path));
	char chain[CP_DIAG_MSG_MAX];

	if (state == NULL || path == NULL) {
		t->err = -ENOMEM;
		goto out;
	}
	for (uint32_t g = 0; g < t->n; g++) {
		uint32_t len = 0, cur = g, at, first;
		size_t off = 0;

		while (cur != NONE && state[cur] == 0) {
			state[cur] = 1;
			path[len++] = cur;
			cur = t->up[cur];
		}
		if (cur != NONE && state[cur] == 1) {
			/* path[at ..] is the cycle; name it from its first gateway
			 * on the command line, so the message does not depend on
			 * where the walk came in. */
			for (at = 0; path[at] != cur; at++)
				;
			first = at;
			for (uint32_t k = at; k < len; k++)
				if (path[k] < path[first])
					first = k;
			for (uint32_t k = 0; k <= len - at && off < sizeof(chain); k++) {
				uint32_t i = at + (first - at + k) % (len - at);

				off += (size_t)snprintf(chain + off, sizeof(chain) - off, "%s%s",
							k == 0 ? "" : " -> ", t->gws[path[i]].name);
			}
			job_error(t, path[first], "/parent", "job %u: the parents form a cycle, %s: "
				  "a tree has one root, a gateway whose job has no \"parent\"",
				  t->id, chain);
		}
		for (uint32_t k = 0; k < len; k++)
			state[path[k]] = 2;
	}
out:
	free(state);
	free(path);
}

/* Every child rank of pg's job is a gateway given that names pg, and what
 * a leaf cannot take apart is not on pg's job. A leaf that names pg with the
 * wrong rank was reported by leaf_rank_check(). */
static void
ranks_check(struct tree *t, uint32_t pg)
{
	const struct cp_job *pj = t->job[pg];
	const struct cp_policy *pp = t->gws[pg].p;
	const char *parent = t->gws[pg].name;
	char a[ADDR_MAX], b[ADDR_MAX], c[ADDR_MAX], sub[32];
	bool has_child = false;

	for (uint32_t r = 0; r < pj->n_workers; r++) {
		const struct cp_worker *w = &pj->workers[r];
		uint32_t g = gw_find(t, w->ip, w->port);

		snprintf(sub, sizeof(sub), "/workers/%u", r);
		if (g == NONE) {
			if (pp->nodes[w->node].roles & CP_ROLE_GATEWAY)
				job_error(t, pg, sub, "rank %u of job %u is on gateway node \"%s\" "
					  "(%s), but no gateway given listens there: give its "
					  "configuration too", r, t->id, pp->nodes[w->node].id,
					  addr_format(w->ip, w->port, a));
			continue;
		}
		if (t->job[g] == NULL) {
			job_error(t, pg, sub, "rank %u of job %u is the gateway %s (%s), which has "
				  "no job %u", r, t->id, t->gws[g].name,
				  addr_format(w->ip, w->port, a), t->id);
			continue;
		}
		if (!t->job[g]->up) {
			job_error(t, g, "", "no \"parent\", but this gateway (%s) is rank %u of job "
				  "%u on %s: give the job a \"parent\"", addr_format(w->ip, w->port, a),
				  r, t->id, parent);
			continue;
		}
		if (t->up[g] == pg) {
			has_child = true;
			continue;
		}
		/* A parent not given, or without the job, was reported as such
		 * by leaf_check(). */
		if (t->up[g] != NONE)
			job_error(t, g, "/parent/node", "the parent is %s, but this gateway (%s) is "
				  "rank %u of job %u on %s (%s) too: a gateway has one parent",
				  addr_format(t->job[g]->up_ip, t->job[g]->up_port, a),
				  addr_format(w->ip, w->port, b), r, t->id, parent,
				  gw_addr(t, pg, c));
	}
	if (has_child && pj->partial)
		job_error(t, pg, "/completion", "a partial job (\"completion\") cannot span "
			  "gateways: it could not tell which ranks a child gateway's sum holds");
	if (has_child && pj->keyed)
		job_error(t, pg, "/key_file", "a keyed job cannot span gateways yet: its run's "
			  "salt is per gateway");
}

struct worker_ref {
	uint64_t key;           /* tree << 48 | ip << 16 | port */
	uint32_t g;
	uint32_t rank;
};

static int
worker_ref_cmp(const void *pa, const void *pb)
{
	const struct worker_ref *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->g != b->g)
		return a->g < b->g ? -1 : 1;
	return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* The root of g's tree: where its parents end. n steps up reach the root or
 * a cycle; on a cycle, its first gateway stands for it, so that all of its
 * members agree. */
static uint32_t
tree_root(const struct tree *t, uint32_t g)
{
	uint32_t root;

	for (uint32_t k = 0; k < t->n && t->up[g] != NONE; k++)
		g = t->up[g];
	root = g;
	for (uint32_t k = 0; k < t->n && t->up[g] != NONE; k++) {
		g = t->up[g];
		if (g < root)
			root = g;
	}
	return root;
}

/* A worker sends to one gateway of its tree: on two, each would add it. */
static void
workers_check(struct tree *t)
{
	struct worker_ref *v;
	size_t n = 0, first = 0;
	char a[ADDR_MAX], sub[32];

	for (uint32_t g = 0; g < t->n; g++)
		n += t->job[g] != NULL ? t->job[g]->n_workers : 0;
	v = calloc(n != 0 ? n : 1, sizeof(*v));
	if (v == NULL) {
		t->err = -ENOMEM;
		return;
	}
	n = 0;
	for (uint32_t g = 0; g < t->n; g++) {
		const struct cp_job *j = t->job[g];
		uint64_t root = tree_root(t, g);

		for (uint32_t r = 0; j != NULL && r < j->n_workers; r++)
			if (!rank_is_child(t, t->gws[g].p, &j->workers[r]))
				v[n++] = (struct worker_ref){ root << 48 |
					(uint64_t)j->workers[r].ip << 16 | j->workers[r].port, g, r };
	}
	qsort(v, n, sizeof(*v), worker_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		if (v[i].key != v[first].key) {
			first = i;
			continue;
		}
		snprintf(sub, sizeof(sub), "/workers/%" PRIu32, v[i].rank);
		job_error(t, v[i].g, sub, "worker %s is also rank %" PRIu32 " of job %u on %s: "
			  "a worker belongs to one gateway of a tree",
			  addr_format((uint32_t)(v[i].key >> 16), (uint16_t)v[i].key, a),
			  v[first].rank, t->id, t->gws[v[first].g].name);
	}
	free(v);
}

/* Each gateway's job of id and the gateway its parent is. */
static void
job_links(struct tree *t, uint16_t id)
{
	t->id = id;
	for (uint32_t g = 0; g < t->n; g++)
		t->job[g] = cp_policy_job_find(t->gws[g].p, id);
	for (uint32_t g = 0; g < t->n; g++) {
		uint32_t pg = NONE;

		if (t->job[g] != NULL && t->job[g]->up)
			pg = gw_find(t, t->job[g]->up_ip, t->job[g]->up_port);
		t->up[g] = pg != NONE && t->job[pg] != NULL ? pg : NONE;
	}
}

static void
job_check(struct tree *t, uint16_t id)
{
	job_links(t, id);
	for (uint32_t g = 0; g < t->n; g++)
		if (t->job[g] != NULL && t->job[g]->up)
			leaf_check(t, g);
	cycles_check(t);
	for (uint32_t g = 0; g < t->n; g++)
		if (t->job[g] != NULL)
			ranks_check(t, g);
	workers_check(t);
}

static int
tree_init(struct tree *t, const struct ctl_tree_gw *gws, unsigned n, struct cp_diags *diags)
{
	memset(t, 0, sizeof(*t));
	t->gws = gws;
	t->n = n;
	t->diags = diags;
	t->cfgs = calloc(n, sizeof(*t->cfgs));
	t->pols = calloc(n, sizeof(*t->pols));
	t->job = calloc(n, sizeof(*t->job));
	t->up = calloc(n, sizeof(*t->up));
	t->addrs = calloc((size_t)n * CP_PORTS_MAX, sizeof(*t->addrs));
	if (t->cfgs == NULL || t->pols == NULL || t->job == NULL || t->up == NULL ||
	    t->addrs == NULL)
		return -ENOMEM;
	for (uint32_t g = 0; g < n; g++)
		for (unsigned k = 0; k < gws[g].cfg->n_ports; k++)
			t->addrs[t->n_addrs++] = (struct gw_ref){
				(uint64_t)gws[g].cfg->ports[k].ip << 16 | gws[g].cfg->udp_port, g };
	qsort(t->addrs, t->n_addrs, sizeof(*t->addrs), gw_ref_cmp);
	return 0;
}

static void
tree_fini(struct tree *t)
{
	for (unsigned g = 0; t->cfgs != NULL && g < t->n; g++)
		file_close(&t->cfgs[g]);
	for (unsigned g = 0; t->pols != NULL && g < t->n; g++)
		file_close(&t->pols[g]);
	free(t->cfgs);
	free(t->pols);
	free(t->job);
	free(t->up);
	free(t->addrs);
}

/* Whether job id spans gateways, a parent or a child rank on any of them:
 * bit id of the result. A root whose leaves all lack their "parent" is a
 * tree too, to be told so. */
static uint8_t *
tree_ids(const struct tree *t)
{
	uint8_t *ids = calloc((CP_JOBS_MAX + 1) / 8, 1);

	for (unsigned g = 0; ids != NULL && g < t->n; g++) {
		const struct cp_policy *p = t->gws[g].p;

		for (uint32_t i = 0; i < p->n_jobs; i++) {
			const struct cp_job *j = &p->jobs[i];
			bool spans = j->up;

			for (uint32_t r = 0; r < j->n_workers && !spans; r++)
				spans = rank_is_child(t, p, &j->workers[r]);
			if (spans)
				ids[j->id / 8] |= 1u << j->id % 8;
		}
	}
	return ids;
}

int
ctl_tree_check(const struct ctl_tree_gw *gws, unsigned n, struct cp_diags *diags)
{
	struct tree t;
	uint8_t *ids = NULL;
	int rc;

	rc = tree_init(&t, gws, n, diags);
	if (rc != 0)
		goto fini;
	/* With two gateways at one address, no parent or rank names one of
	 * them for sure: nothing else can be judged. */
	addresses_check(&t);
	if (t.n_errors == 0) {
		ids = tree_ids(&t);
		if (ids == NULL)
			t.err = -ENOMEM;
		for (uint32_t id = 1; ids != NULL && id <= CP_JOBS_MAX && t.err == 0; id++)
			if (ids[id / 8] & (1u << id % 8))
				job_check(&t, (uint16_t)id);
	}
	rc = t.err != 0 ? t.err : t.n_errors != 0 ? -EINVAL : 0;
fini:
	free(ids);
	tree_fini(&t);
	return rc;
}

/* Print g's children in rank order, each with its own children after it;
 * add their workers to *workers. Returns the depth below g. */
static unsigned
children_print(const struct tree *t, uint32_t g, FILE *out, uint64_t *workers)
{
	const struct cp_job *pj = t->job[g];
	unsigned depth = 0, k = 0;

	for (uint32_t r = 0; r < pj->n_workers; r++) {
		uint32_t h = gw_find(t, pj->workers[r].ip, pj->workers[r].port);
		unsigned own = 0, d;

		if (h == NONE || t->up[h] != g || t->job[h]->up_rank != r)
			continue;
		for (uint32_t s = 0; s < t->job[h]->n_workers; s++)
			own += !rank_is_child(t, t->gws[h].p, &t->job[h]->workers[s]);
		*workers += own;
		fprintf(out, "%s%s (rank %" PRIu32 ", %u worker%s)", k++ == 0 ? "" : ", ",
			t->gws[h].name, r, own, own == 1 ? "" : "s");
		d = 1;
		for (uint32_t x = 0; x < t->n; x++)
			if (t->up[x] == h) {
				fprintf(out, " <- [");
				d += children_print(t, h, out, workers);
				fprintf(out, "]");
				break;
			}
		if (d > depth)
			depth = d;
	}
	return depth;
}

unsigned
ctl_tree_print(const struct ctl_tree_gw *gws, unsigned n, FILE *out)
{
	struct tree t;
	uint8_t *ids = NULL;
	unsigned n_trees = 0;

	if (tree_init(&t, gws, n, NULL) != 0 || (ids = tree_ids(&t)) == NULL) {
		fprintf(stderr, "daitnctl: out of memory\n");
		goto fini;
	}
	for (uint32_t id = 1; id <= CP_JOBS_MAX; id++) {
		if ((ids[id / 8] & (1u << id % 8)) == 0)
			continue;
		job_links(&t, (uint16_t)id);
		for (uint32_t g = 0; g < n; g++) {
			const struct cp_job *j = t.job[g];
			uint64_t workers = 0;
			unsigned depth;
			bool has_child = false;

			for (uint32_t x = 0; x < n && !has_child; x++)
				has_child = t.up[x] == g;
			if (j == NULL || j->up || !has_child)
				continue;
			for (uint32_t s = 0; s < j->n_workers; s++)
				workers += !rank_is_child(&t, gws[g].p, &j->workers[s]);
			fprintf(out, "job %" PRIu32 ": root %s", id, gws[g].name);
			if (workers != 0)
				fprintf(out, " (%" PRIu64 " worker%s)", workers, workers == 1 ? "" : "s");
			fprintf(out, " <- ");
			depth = 1 + children_print(&t, g, out, &workers);
			fprintf(out, "; %" PRIu64 " worker%s, depth %u\n", workers,
				workers == 1 ? "" : "s", depth);
			n_trees++;
		}
	}
	if (n_trees == 0)
		fprintf(out, "no tree: no job of these gateways has a \"parent\" or a child "
			"gateway\n");
fini:
	free(ids);
	tree_fini(&t);
	return n_trees;
}
