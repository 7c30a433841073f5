/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Job tables: built whole from an immutable struct cp_policy off the fast
 * path, published with rcu_assign_pointer(), the previous version freed after
 * synchronize_rcu(). A reload is the same call again.
 *
 * A job's mutable state (struct gw_job_inst: slots, buffers, learned peers,
 * per-job counters) is separate from the table entry, so a job that
 * cp_job_same() says is unchanged keeps it across versions and loses no
 * round. State of removed or changed jobs is retired after the grace period;
 * its memory is released once no RESULT copy in TX still points into it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include <urcu-qsbr.h>

#include "gw_cp.h"
#include "gw_priv.h"

static void free_cb_unused(void *addr, void *opaque)
{
	/* The set (or the busy list) always keeps one reference, so the count
	 * never reaches zero while the buffer exists; nothing to do. */
	RTE_SET_USED(addr);
	RTE_SET_USED(opaque);
}

/* Bytes between buffers. In IOVA-as-PA mode a buffer must not cross a page,
 * so buffers are power-of-two sized and aligned there. */
static uint32_t buf_stride(uint32_t acc_size)
{
	if (rte_eal_iova_mode() != RTE_IOVA_PA)
		return RTE_ALIGN_CEIL(acc_size, 64);
	return rte_align32pow2(RTE_MAX(acc_size, 64u));
}

/* Main thread, after the grace period: the contributions the instance still
 * held go back to their pools, and out of their lcore's hold budget. */
static void job_lc_free(struct gw_job_lc *jl)
{
	uint32_t n = 0;

	if (jl == NULL)
		return;
	if (jl->held != NULL) {
		size_t entries = (size_t)2 * jl->n_local * jl->slots.n_workers;

		for (size_t i = 0; i < entries; i++)
			if (jl->held[i] != NULL) {
				rte_pktmbuf_free(jl->held[i]);
				n++;
			}
		atomic_fetch_add_explicit(&jl->lc->held_gone, n, memory_order_relaxed);
	}
	rte_free(jl->mem);
	rte_free(jl);
}

/* Per-lcore state of a job with n_local slot indices on this shard. */
static struct gw_job_lc *job_lc_create(const struct cp_job *j, uint32_t n_local,
				       uint32_t buf_size, struct gw_lcore *lc)
{
	int socket = (int)rte_lcore_to_socket_id(lc->lcore_id);
	/* Only float sums depend on the order of the adds. */
	bool ordered = j->deterministic && j->dtype != DP_DTYPE_I32;
	size_t held = ordered ? (size_t)2 * n_local * j->n_workers * sizeof(struct rte_mbuf *) : 0;
	size_t tbl = RTE_ALIGN_CEIL(dp_slot_table_mem_size(n_local, j->n_workers), 64);
	uint32_t n_bufs = 2 * n_local + GW_SPARE_BUFS, stride = buf_stride(buf_size);
	size_t o_bufs = tbl;
	size_t o_free = RTE_ALIGN_CEIL(o_bufs + n_bufs * sizeof(struct gw_buf), 64);
	size_t o_busy = o_free + n_bufs * sizeof(struct gw_buf *);
	size_t o_peers = RTE_ALIGN_CEIL(o_busy + n_bufs * sizeof(struct gw_buf *), 64);
	size_t o_held = o_peers + (size_t)j->n_workers * sizeof(struct gw_peer);
	size_t o_ranks = o_held + held;
	/* Buffers aligned to their stride where it is a power of two (IOVA as
	 * PA: no buffer crosses a page), to a cache line otherwise. */
	size_t align = rte_is_power_of_2(stride) ? RTE_MAX(stride, 64u) : 64;
	size_t o_data = RTE_ALIGN_CEIL(o_ranks + 2 * (size_t)j->n_workers * sizeof(uint64_t),
				       align);
	size_t total = o_data + (size_t)n_bufs * stride;
	struct gw_job_lc *jl;
	uint8_t *mem;

	jl = rte_zmalloc_socket("gw_job_lc", sizeof(*jl), RTE_CACHE_LINE_SIZE, socket);
	if (jl == NULL)
		return NULL;
	mem = rte_zmalloc_socket("gw_job_mem", total, align, socket);
	if (mem == NULL) {
		rte_free(jl);
		return NULL;
	}
	jl->mem = mem;
	dp_slot_table_init(&jl->slots, mem, n_local, j->n_workers);
	jl->n_local = n_local;
	jl->n_bufs = n_bufs;
	jl->bufs = (struct gw_buf *)(mem + o_bufs);
	jl->free_bufs = (struct gw_buf **)(mem + o_free);
	jl->busy = (struct gw_buf **)(mem + o_busy);
	jl->peers = (struct gw_peer *)(mem + o_peers);
	jl->held = ordered ? (struct rte_mbuf **)(mem + o_held) : NULL;
	jl->last = (uint64_t *)(void *)(mem + o_ranks);
	jl->missing = jl->last + j->n_workers;
	if (j->partial && j->quorum != 0)
		dp_slot_table_quorum_set(&jl->slots, j->quorum);
	jl->lc = lc;
	for (uint32_t i = 0; i < n_bufs; i++) {
		struct gw_buf *b = &jl->bufs[i];

		b->data = mem + o_data + (size_t)i * stride;
		b->iova = rte_mem_virt2iova(b->data);
		b->shinfo.free_cb = free_cb_unused;
		b->shinfo.fcb_opaque = NULL;
		rte_mbuf_ext_refcnt_set(&b->shinfo, 1);
		jl->free_bufs[n_bufs - 1 - i] = b;
	}
	jl->n_free = n_bufs;
	jl->charge = n_local * cp_job_slot_size(j);
	return jl;
}

static void inst_free(struct gw_job_inst *in)
{
	if (in == NULL)
		return;
	for (unsigned k = 0; k < in->n_lc; k++)
		job_lc_free(in->lc[k]);
	free(in->join.nonce);
	free(in->join.heard);
	free(in->join.in);
	free(in->join.floor);
	free(in->join.old_nonce);
	free(in->join.n_old);
	free(in->workers);
	free(in);
}

static struct gw_job_inst *inst_create(struct gw *gw, const struct cp_job *j, uint32_t n_slots,
				       uint32_t buf_size)
{
	struct gw_job_inst *in = calloc(1, sizeof(*in) + gw->n_lcores * sizeof(in->lc[0]));

	if (in == NULL)
		return NULL;
	in->cfg = *j;
	in->workers = malloc(j->n_workers * sizeof(*in->workers));
	if (in->workers == NULL)
		goto fail;
	memcpy(in->workers, j->workers, j->n_workers * sizeof(*in->workers));
	in->cfg.workers = in->workers;
	/* No run yet: the first starts at round 0 once every rank joined. */
	atomic_init(&in->run, 0);
	in->join.nonce = calloc(j->n_workers, sizeof(*in->join.nonce));
	in->join.heard = calloc(j->n_workers, sizeof(*in->join.heard));
	in->join.in = calloc(j->n_workers, sizeof(*in->join.in));
	in->join.floor = calloc(j->n_workers, sizeof(*in->join.floor));
	in->join.old_nonce = calloc((size_t)j->n_workers * GW_JOIN_OLD_NONCES,
				    sizeof(*in->join.old_nonce));
	in->join.n_old = calloc(j->n_workers, sizeof(*in->join.n_old));
	if (in->join.nonce == NULL || in->join.heard == NULL || in->join.in == NULL ||
	    in->join.floor == NULL ||
	    in->join.old_nonce == NULL || in->join.n_old == NULL)
		goto fail;
	atomic_init(&in->join.n_in, 0);
	/* A tree leaf's first process toward its parent. */
	do
		in->up.nonce = (uint32_t)rte_rand();
	while (in->up.nonce == 0);
	for (unsigned k = 0; k < gw->n_lcores; k++) {
		uint32_t n_local = (n_slots - k + gw->n_lcores - 1) / gw->n_lcores;

		in->lc[k] = job_lc_create(j, n_local, buf_size, gw->lcores[k]);
		if (in->lc[k] == NULL)
			goto fail;
		in->n_lc = k + 1;
	}
	return in;

fail:
	inst_free(in);
	return NULL;
}

/* True once no RESULT copy references the instance's buffers. Main thread,
 * after the grace period (no lcore touches the instance any more). */
static bool inst_idle(const struct gw_job_inst *in)
{
	for (unsigned k = 0; k < in->n_lc; k++)
		for (uint32_t i = 0; i < in->lc[k]->n_bufs; i++)
			if (rte_mbuf_ext_refcnt_read(&in->lc[k]->bufs[i].shinfo) != 1)
				return false;
	return true;
}

void gw_zombies_reap(struct gw *gw, bool force)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < gw->n_zombies; i++) {
		struct gw_job_inst *in = gw->zombies[i];

		if (force || inst_idle(in))
			inst_free(in);
		else
			gw->zombies[keep++] = in;
	}
	gw->n_zombies = keep;
}

void gw_tables_free(struct gw *gw, struct gw_tables *t)
{
	RTE_SET_USED(gw);
	if (t == NULL)
		return;
	gw_infer_tables_free(gw, t->infer);
	gw_cp_tables_free(gw, t);
	free(t->node_neigh);
	for (unsigned i = 0; i < GW_PAGES; i++)
		free(t->pages[i]);
	for (uint32_t i = 0; i < t->n_jobs; i++)
		free(t->jobs[i].workers);
	free(t->jobs);
	if (t->policy != NULL)
		cp_policy_free(t->policy);
	free(t);
}

static struct gw_job_inst *inst_find(const struct gw_tables *old, const struct cp_job *j)
{
	const struct gw_job *oj = old != NULL ? gw_tables_job(old, j->id) : NULL;

	return oj != NULL && cp_job_same(&oj->inst->cfg, j) ? oj->inst : NULL;
}

/* Fill t from t->policy. On failure the instances this build created are
 * freed (reused ones are untouched) and err says why. */
static int tables_build(struct gw *gw, struct gw_tables *t, const struct gw_tables *old,
			uint64_t *need, char *err, size_t err_size)
{
	const struct cp_policy *p = t->policy;
	int rc = 0;

	t->jobs = calloc(p->n_jobs ? p->n_jobs : 1, sizeof(*t->jobs));
	if (t->jobs == NULL) {
		snprintf(err, err_size, "out of memory for %u jobs", p->n_jobs);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < p->n_jobs; i++) {
		const struct cp_job *cj = &p->jobs[i];
		struct gw_job *j = &t->jobs[i];
		uint32_t n_slots = cp_job_slots(cj, gw->n_lcores);
		size_t esize = dp_proto_dtype_size(cj->dtype);

		if (esize == 0 || cj->chunk_size < esize || cj->chunk_size % esize != 0 ||
		    cj->chunk_size > DP_PROTO_CHUNK_SIZE_MAX || cj->n_workers == 0 ||
		    cj->n_workers > DP_PROTO_WORKERS_MAX) {
			snprintf(err, err_size, "job %u: dtype %u, chunk_size %u or %u workers "
				 "out of range", cj->id, cj->dtype, cj->chunk_size, cj->n_workers);
			rc = -EINVAL;
			goto fail;
		}
		if (n_slots < gw->n_lcores) {
			snprintf(err, err_size, "job %u: slot_memory %llu bytes gives %u slots; it "
				 "needs at least one per data lcore (%u), %llu bytes each",
				 cj->id, (unsigned long long)cj->slot_memory, n_slots, gw->n_lcores,
				 (unsigned long long)cp_job_slot_size(cj));
			rc = -EINVAL;
			goto fail;
		}
		j->id = cj->id;
		j->dtype = cj->dtype;
		j->frac_bits = cj->frac_bits;
		j->chunk_size = cj->chunk_size;
		j->n_workers = cj->n_workers;
		j->n_slots = n_slots;
		j->acc_size = (uint32_t)(cj->chunk_size / esize) * 4u;
		j->partial = cj->partial;
		j->ranks_size = cj->partial ? (uint16_t)dp_proto_ranks_size(cj->n_workers) : 0;
		j->buf_size = j->acc_size + j->ranks_size;
		j->min_ranks = cj->min_ranks ? cj->min_ranks : 1;
		j->deadline = cj->partial ? cj->deadline_ms * (rte_get_tsc_hz() / 1000) : 0;
		j->k = &gw->kern[cj->dtype];
		j->keyed = cj->keyed;
		j->ordered = cj->deterministic && cj->dtype != DP_DTYPE_I32;
		j->fedavg = cj->fedavg;
		j->up = cj->up;
		if (cj->up) {
			j->up_rank = cj->up_rank;
			j->up_addr.ip_be = rte_cpu_to_be_32(cj->up_ip);
			j->up_addr.port_be = rte_cpu_to_be_16(cj->up_port);
			j->up_addr.neigh = t->node_neigh[cj->up_node];
		}
		if (cj->keyed)
			dp_auth_key_set(&j->key, cj->key, (enum dp_auth_cover)cj->auth_cover);
		j->workers = malloc(cj->n_workers * sizeof(*j->workers));
		if (j->workers == NULL)
			goto nomem;
		t->n_jobs = i + 1;
		for (uint16_t r = 0; r < cj->n_workers; r++) {
			j->workers[r].ip_be = rte_cpu_to_be_32(cj->workers[r].ip);
			j->workers[r].port_be = rte_cpu_to_be_16(cj->workers[r].port);
			j->workers[r].neigh = t->node_neigh[cj->workers[r].node];
		}
		j->inst = inst_find(old, cj);
		if (j->inst == NULL) {
			j->inst = inst_create(gw, cj, n_slots, j->buf_size);
			if (j->inst == NULL)
				goto nomem;
		} else if (j->inst->gen == t->gen) {
			snprintf(err, err_size, "job %u appears twice", cj->id);
			rc = -EINVAL;
			goto fail;
		}
		j->inst->gen = t->gen;
		for (unsigned k = 0; k < gw->n_lcores; k++)
			need[k] += j->inst->lc[k]->charge;
		if (t->pages[j->id >> 8] == NULL) {
			t->pages[j->id >> 8] = calloc(256, sizeof(struct gw_job *));
			if (t->pages[j->id >> 8] == NULL)
				goto nomem;
		}
		t->pages[j->id >> 8][j->id & 0xff] = j;
	}
	for (unsigned k = 0; k < gw->n_lcores; k++)
		if (need[k] > gw->lcores[k]->slot_capacity) {
			snprintf(err, err_size, "the jobs need %llu bytes of slot memory on data "
				 "lcore %u, the gateway has %llu: lower the jobs' slot_memory or "
				 "raise the config's slot_memory",
				 (unsigned long long)need[k], gw->lcores[k]->lcore_id,
				 (unsigned long long)gw->lcores[k]->slot_capacity);
			rc = -ENOSPC;
			goto fail;
		}
	return 0;

nomem:
	snprintf(err, err_size, "out of memory building the tables (EAL heap: raise memory_mb)");
	rc = -ENOMEM;
fail:
	/* Instances created by this build are the ones old does not hold. */
	for (uint32_t i = 0; i < p->n_jobs; i++) {
		struct gw_job_inst *in = t->jobs[i].inst;

		if (in != NULL && (old == NULL || inst_find(old, &p->jobs[i]) != in))
			inst_free(in);
		else if (in != NULL)
			in->gen = old->gen;
		t->jobs[i].inst = NULL;
	}
	return rc;
}

int gw_policy_apply(struct gw *gw, struct cp_policy *p, char *err, size_t err_size)
{
	struct gw_tables *t, *old;
	uint64_t need[CP_LCORES_MAX] = { 0 };
	struct gw_job_inst **z;
	int rc;

	if (p == NULL) {
		snprintf(err, err_size, "no policy");
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&gw->ctl_lock);
	old = gw->tables;
	t->gen = gw->gen + 1;
	t->version = p->version;
	t->policy = p;
	rc = gw_neigh_bind(gw, t, err, err_size);
	if (rc == 0)
		rc = gw_infer_tables_build(gw, t, old, err, err_size);
	if (rc == 0)
		rc = gw_cp_tables_build(gw, t, old, err, err_size);
	if (rc == 0)
		rc = tables_build(gw, t, old, need, err, err_size);
	if (rc < 0) {
		t->policy = NULL;
		gw_tables_free(gw, t);
		gw->reloads_failed++;
		snprintf(gw->last_reload, sizeof(gw->last_reload), "refused: %s", err);
		pthread_mutex_unlock(&gw->ctl_lock);
		return rc;
	}
	gw_neigh_pin(gw, t);
	rcu_assign_pointer(gw->tables, t);
	synchronize_rcu();
	gw->gen = t->gen;
	for (unsigned k = 0; k < gw->n_lcores; k++)
		gw->lcores[k]->slot_committed = need[k];
	/* Every lcore has passed a quiescent state: none still reads old or
	 * the instances only old referenced. */
	gw_infer_published(gw, t, old);
	if (old != NULL) {
		for (uint32_t i = 0; i < old->n_jobs; i++) {
			struct gw_job_inst *in = old->jobs[i].inst;

			if (in->gen == t->gen)
				continue;
			z = realloc(gw->zombies, (gw->n_zombies + 1) * sizeof(*z));
			if (z == NULL) {
				/* Cannot track it: keep it forever rather than free
				 * memory TX may still read. */
				GW_LOG(ERR, "cannot retire job %u state: out of memory\n", in->cfg.id);
				continue;
			}
			gw->zombies = z;
			gw->zombies[gw->n_zombies++] = in;
		}
		gw_tables_free(gw, old);
	}
	gw_zombies_reap(gw, false);
	if (old != NULL)
		gw->reloads_ok++;
	snprintf(gw->last_reload, sizeof(gw->last_reload), "policy version %llu: %u jobs",
		 (unsigned long long)t->version, t->n_jobs);
	pthread_mutex_unlock(&gw->ctl_lock);
	return 0;
}

void gw_reload_refused(struct gw *gw, const char *why)
{
	pthread_mutex_lock(&gw->ctl_lock);
	gw->reloads_failed++;
	snprintf(gw->last_reload, sizeof(gw->last_reload), "refused: %s", why);
	pthread_mutex_unlock(&gw->ctl_lock);
}

void gw_housekeeping(struct gw *gw)
{
	pthread_mutex_lock(&gw->ctl_lock);
	gw_zombies_reap(gw, false);
	pthread_mutex_unlock(&gw->ctl_lock);
}

int gw_job_stats_read(struct gw *gw, uint16_t id, struct gw_stats *out)
{
	const struct gw_job *j;
	int rc = -ENOENT;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&gw->ctl_lock);
	j = gw->tables != NULL ? gw_tables_job(gw->tables, id) : NULL;
	if (j != NULL) {
		for (unsigned k = 0; k < j->inst->n_lc; k++) {
			const struct gw_job_lc *jl = j->inst->lc[k];

			for (unsigned i = 0; i < DP_DROP_MAX; i++)
				out->fate[i] += gw_cnt_read(&jl->fate[i]);
			out->ev[GW_EV_SLOTS_ABANDONED] += gw_cnt_read(&jl->abandoned);
		}
		rc = 0;
	}
	pthread_mutex_unlock(&gw->ctl_lock);
	return rc;
}
