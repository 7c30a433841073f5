/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the libdaitn suites: a test peer with a job, and a
 * handle joined to it. Main thread only.
 */
#ifndef DAITN_TEST_UTIL_H
#define DAITN_TEST_UTIL_H

#include <stdlib.h>
#include <unistd.h>

#include "daitn.h"
#include "daitn_priv.h"
#include "daitn_test_peer.h"

/* A port that was free a moment ago (bound, then closed). */
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

#endif /* DAITN_TEST_UTIL_H */
