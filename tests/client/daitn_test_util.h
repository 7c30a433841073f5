/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the libdaitn suites: a test peer with a job, a handle
 * joined to it, and the suite runner every suite's main() ends with.
 * Main thread only.
 */
#ifndef DAITN_TEST_UTIL_H
#define DAITN_TEST_UTIL_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daitn.h"
#include "daitn_priv.h"
#include "daitn_test_peer.h"

/* A port that was free a moment ago (bound, then closed). */
/* A virtual clock for libdaitn (daitn_clock_set): it starts at 1000 s and
 * moves only by the timeouts of waits that found nothing to read, so timers
 * against a silent peer run exactly and at once. Main thread only. */
static uint64_t tutil_vclock_ns;

static inline uint64_t
tutil_vclock_now(void *arg)
{
	(void)arg;
	return tutil_vclock_ns;
}

static inline void
tutil_vclock_advance(void *arg, uint64_t ns)
{
	(void)arg;
	tutil_vclock_ns += ns;
}

static inline void
tutil_vclock_on(void)
{
	tutil_vclock_ns = 1000000000000ull;
	daitn_clock_set(tutil_vclock_now, tutil_vclock_advance, NULL);
}

static inline void
tutil_vclock_off(void)
{
	daitn_clock_set(NULL, NULL, NULL);
}

static inline uint16_t
tutil_free_port(void)
{
	uint16_t port = 0;
	int fd = tpeer_udp_socket(&port);

	if (fd >= 0)
		close(fd);
	return port;
}

/* A peer (not started) for job 7 with the given shape; round_base 1000. */
static inline struct tpeer *
tutil_peer(uint8_t dtype, uint16_t chunk_size, uint16_t n_slots, uint8_t n_shards)
{
	struct tpeer *p = calloc(1, sizeof(*p));

	if (p == NULL)
		abort();
	p->hello = TPEER_HELLO_ACK;
	p->job_id = 7;
	p->job = (struct dp_proto_job_info){
		.n_workers = 4, .chunk_size = chunk_size, .n_slots = n_slots,
		.n_shards = n_shards, .dtype = dtype, .frac_bits = 16,
		.policy_version = 1, .round_base = 1000,
	};
	p->mult = 2;
	return p;
}

/* Start p and join it as rank 1. Returns the daitn_open() result. */
static inline int
tutil_join(struct tpeer *p, uint32_t window, uint32_t rto_us, uint32_t timeout_ms,
	   struct daitn **d)
{
	struct daitn_config c = {
		.gateway = "127.0.0.1",
		.bind_addr = "127.0.0.1",
		.bind_port = tutil_free_port(),
		.job = 7,
		.rank = 1,
		.hello_timeout_ms = 2000,
		.timeout_ms = timeout_ms,
		.rto_us = rto_us,
		.window = window,
	};
	int rc = tpeer_start(p);

	if (rc < 0)
		return rc;
	c.gateway_port = p->job.udp_port_base;
	return daitn_open(&c, d);
}

/*
 * Run the suite `name` made of `tests` (ended by CU_TEST_INFO_NULL), in the
 * order given, with verbose output. Returns main()'s exit status: 0 when
 * every assertion held, 1 when one failed or CUnit could not register.
 */
static inline int
tutil_run(const char *name, const CU_TestInfo *tests)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite(name, NULL, NULL);
	if (s == NULL)
		goto fail_registry;
	for (const CU_TestInfo *t = tests; t->pName != NULL; t++)
		if (CU_add_test(s, t->pName, t->pTestFunc) == NULL)
			goto fail_registry;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails == 0 ? 0 : 1;

fail_registry:
	fprintf(stderr, "%s: CUnit registration failed: %s\n", name, CU_get_error_msg());
	CU_cleanup_registry();
	return 1;
}

#endif /* DAITN_TEST_UTIL_H */
