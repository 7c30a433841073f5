/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libdaitn: the worker-side library. A worker of a training job joins its job
 * on a daitn gateway and allreduces tensors through it over ordinary kernel
 * UDP sockets (no DPDK on the worker).
 *
 * Threads: a struct daitn is used by one thread at a time (calls on different
 * handles are independent). No call blocks longer than its configured timeout:
 * if the gateway stops answering, the call returns -ETIMEDOUT and
 * daitn_last_error() says what was outstanding. Nothing is retried forever.
 *
 * Errors: negative errno values; daitn_strerror() names them, and
 * daitn_last_error() gives the sentence for the last failure on a handle.
 */
#ifndef DAITN_H
#define DAITN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types of a tensor (the wire codes). */
enum daitn_dtype {
	DAITN_FLOAT32 = 1,
	DAITN_INT32 = 2,
	DAITN_BFLOAT16 = 3,
	DAITN_FLOAT16 = 4,
};

struct daitn_config {
	const char *gateway;     /* gateway IPv4 address, "10.0.0.1" (required) */
	uint16_t gateway_port;   /* UDP port; 0 = 47000 */
	const char *bind_addr;   /* local IPv4 to bind; NULL = any */
	uint16_t bind_port;      /* local UDP port, as in the policy (required) */
	uint16_t job;            /* job id from the policy */
	uint16_t rank;           /* this worker's rank */
	uint32_t hello_timeout_ms;  /* daitn_open() gives up after this; 0 = 2000 */
	uint32_t timeout_ms;     /* an allreduce fails after this long without any
				    progress; 0 = 5000 */
	uint32_t rto_us;         /* first retransmission timeout; 0 = 2000; doubles
				    per retry up to 64x */
	uint32_t window;         /* max chunks in flight; 0 = the job's slots */
};

struct daitn;

struct daitn_job_info {
	uint16_t n_workers;
	uint16_t chunk_size;     /* payload bytes per chunk */
	uint16_t n_slots;
	uint8_t n_shards;
	enum daitn_dtype dtype;  /* the job's wire type */
	uint8_t frac_bits;       /* int32 jobs */
	uint32_t policy_version;
};

struct daitn_stats {
	uint64_t chunks_sent;      /* first transmissions */
	uint64_t retransmits;
	uint64_t results;          /* results accepted */
	uint64_t stale_results;    /* results for chunks no longer outstanding */
	uint64_t allreduces;
	uint64_t send_calls;       /* system calls used to send */
	uint64_t recv_calls;
};

/* Join the job: bind the socket, send HELLO, wait for HELLO_ACK.
 * Returns 0 and *out, or -EINVAL (bad config), -ETIMEDOUT (no answer),
 * -ECONNREFUSED (the gateway refused: unknown job, not admitted, parameters),
 * or another negative errno from the socket calls. */
int daitn_open(const struct daitn_config *cfg, struct daitn **out);

/* Sum buf over all workers of the job, in place. count elements of dtype.
 * dtype may differ from the job's wire type only as float32 data on an int32
 * job (converted to fixed point and back; -ERANGE if a value is too large).
 * Every worker must call with the same count and dtype, in the same order.
 * Returns 0, -EINVAL, -ERANGE, -ETIMEDOUT, or a negative errno. */
int daitn_allreduce(struct daitn *d, void *buf, size_t count, enum daitn_dtype dtype);

void daitn_close(struct daitn *d);

const struct daitn_job_info *daitn_job(const struct daitn *d);
void daitn_stats_get(const struct daitn *d, struct daitn_stats *out);

/* The last failure on d, as a sentence; "" if none. Valid until the next call. */
const char *daitn_last_error(const struct daitn *d);

const char *daitn_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* DAITN_H */
