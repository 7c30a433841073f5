/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers for the dp_sched suites. Packets are fake pointers that encode
 * their leaf and a sequence number, so order and identity can be checked
 * without memory behind them (the scheduler never dereferences them).
 */
#ifndef SCHED_TEST_UTIL_H
#define SCHED_TEST_UTIL_H

#include <stdint.h>
#include <string.h>

#include "dp_sched.h"

static inline void *
pk(uint32_t leaf, uint32_t seq)
{
	return (void *)(uintptr_t)(((uint64_t)leaf << 32 | seq) + 1);
}

static inline uint32_t
pk_leaf(const void *p)
{
	return (uint32_t)(((uintptr_t)p - 1) >> 32);
}

static inline uint32_t
pk_seq(const void *p)
{
	return (uint32_t)((uintptr_t)p - 1);
}

/* Enqueue one packet; returns the number refused (0 or 1). */
static inline unsigned
enq1(struct dp_sched *s, uint32_t leaf, uint32_t seq, uint32_t len, uint8_t band)
{
	struct dp_sched_pkt p = { .pkt = pk(leaf, seq), .len = len, .leaf = leaf, .band = band };
	void *dropped[1];

	return dp_sched_enqueue(s, &p, 1, dropped);
}

/* Classes: 0 control (prio 0), 1 inference (prio 1), 2 training (prio 2).
 * Leaves: 0 control, 1 inference, 2.. one per training weight. */
static inline struct dp_sched *
sched_3class(const uint32_t *job_weights, unsigned n_jobs, uint32_t queue_len,
	     const struct dp_sched_rate *class_caps, const struct dp_sched_rate *tenants,
	     unsigned n_tenants, const uint32_t *job_tenant)
{
	struct dp_sched_class_conf cc[3];
	struct dp_sched_leaf_conf lf[2 + 16];
	struct dp_sched_conf conf;
	unsigned i;

	memset(cc, 0, sizeof(cc));
	for (i = 0; i < 3; i++) {
		cc[i].priority = (uint8_t)i;
		cc[i].weight = 1;
		if (class_caps != NULL)
			cc[i].cap = class_caps[i];
	}
	for (i = 0; i < 2 + n_jobs; i++) {
		lf[i].cls = i < 2 ? i : 2;
		lf[i].weight = i < 2 ? 1 : job_weights[i - 2];
		lf[i].tenant = i >= 2 && job_tenant != NULL ? job_tenant[i - 2] : DP_SCHED_NONE;
		lf[i].queue_len = queue_len;
	}
	conf = (struct dp_sched_conf){ .n_classes = 3, .classes = cc, .n_leaves = 2 + n_jobs,
		.leaves = lf, .n_tenants = n_tenants, .tenants = tenants };
	return dp_sched_create(&conf);
}

/* Empty s (flush) and free it; returns the number of packets flushed. */
static inline unsigned
sched_drain_free(struct dp_sched *s)
{
	void *buf[64];
	unsigned n, total = 0;

	while ((n = dp_sched_flush(s, buf, 64)) != 0)
		total += n;
	dp_sched_free(s);
	return total;
}

#endif /* SCHED_TEST_UTIL_H */
