/* SPDX-License-Identifier: BSD-3-Clause */
/* Lookups and the helpers the data plane shares with the validator. */
#include <string.h>

#include "cp_config.h"
#include "cp_policy.h"
#include "dp_proto.h"

const struct cp_job *
cp_policy_job_find(const struct cp_policy *p, uint16_t id)
{
	uint32_t lo = 0, hi = p->n_jobs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (p->jobs[mid].id == id)
			return &p->jobs[mid];
		if (p->jobs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct cp_model *
cp_policy_model_find(const struct cp_policy *p, uint16_t id)
{
	uint32_t lo = 0, hi = p->n_models;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (p->models[mid].id == id)
			return &p->models[mid];
		if (p->models[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

uint64_t
cp_job_slot_size(const struct cp_job *j)
{
	size_t esize = dp_proto_dtype_size(j->dtype);

	uint64_t size;

	if (esize == 0)
		return 0;
	/* Two sets, each a binary32 accumulator of a chunk's elements; per
	 * set, a deterministic float job's pointer per rank to the chunks
	 * that wait for their turn, and a partial job's ranks trailer after
	 * the result. */
	size = 2u * (uint64_t)(j->chunk_size / esize) * 4u;
	if (j->deterministic && j->dtype != DP_DTYPE_I32)
		size += 2u * (uint64_t)j->n_workers * 8u;
	if (j->partial)
		size += 2u * dp_proto_ranks_size(j->n_workers);
	return size;
}

uint32_t
cp_job_slots(const struct cp_job *j, unsigned n_shards)
{
	uint64_t slot = cp_job_slot_size(j);
	uint64_t n;

	if (slot == 0)
		return 0;
	if (n_shards == 0)
		n_shards = 1;
	n = j->slot_memory / slot;
	if (n > DP_PROTO_SLOTS_MAX)
		n = DP_PROTO_SLOTS_MAX;
	return (uint32_t)(n - n % n_shards);
}

bool
cp_job_same(const struct cp_job *a, const struct cp_job *b)
{
	if (a->id != b->id || a->dtype != b->dtype || a->chunk_size != b->chunk_size ||
	    a->slot_memory != b->slot_memory || a->frac_bits != b->frac_bits ||
	    a->deterministic != b->deterministic || a->fedavg != b->fedavg ||
	    a->partial != b->partial ||
	    a->quorum != b->quorum || a->min_ranks != b->min_ranks ||
	    a->deadline_ms != b->deadline_ms ||
	    a->n_workers != b->n_workers || a->keyed != b->keyed ||
	    a->auth_cover != b->auth_cover || memcmp(a->key, b->key, sizeof(a->key)) != 0 ||
	    a->up != b->up || a->up_ip != b->up_ip || a->up_port != b->up_port ||
	    a->up_rank != b->up_rank)
		return false;
	for (uint16_t r = 0; r < a->n_workers; r++)
		if (a->workers[r].ip != b->workers[r].ip || a->workers[r].port != b->workers[r].port)
			return false;
	return true;
}

void
cp_limits_from_config(const struct cp_gw_config *cfg, struct cp_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->slot_memory = cfg->slot_memory * cfg->n_data_lcores;
	lim->n_shards = cfg->n_data_lcores;
	for (unsigned i = 0; i < cfg->n_ports && i < CP_LIMITS_IPS_MAX; i++) {
		/* 1500 is what DPDK configures when a port leaves the MTU open. */
		uint16_t mtu = cfg->ports[i].mtu != 0 ? cfg->ports[i].mtu : 1500;

		if (lim->mtu == 0 || mtu < lim->mtu)
			lim->mtu = mtu;
		lim->gw_ips[lim->n_gw_ips++] = cfg->ports[i].ip;
	}
}
