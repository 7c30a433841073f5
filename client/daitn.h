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
	uint32_t hello_timeout_ms;  /* daitn_open() gives up after this without
				       any answer from the gateway; 0 = 2000 */
	uint32_t timeout_ms;     /* an allreduce fails after this long without any
				    progress; 0 = 5000 */
	uint32_t rto_us;         /* first retransmission timeout; 0 = 10000; doubles
				    per retry up to 64x. A floor: when the measured
				    round trip (srtt + 4 rttvar) is longer, that is
				    used instead */
	uint32_t window;         /* max chunks in flight; 0 = the job's slots.
				    Within it a congestion window (starting at
				    32, halved on loss) limits what is in flight */
	/* Appended after v0.1. A run starts when every rank has joined: once
	 * the gateway answers that it waits for other ranks, daitn_open()
	 * waits up to join_timeout_ms for them; 0 = 60000. */
	uint32_t join_timeout_ms;
	/* Appended after v0.2. The job's key file, when its policy gives it
	 * one (docs/security.md): 32 hex digits, readable by its owner only.
	 * Every message is then tagged, and only tagged answers and results
	 * from the gateway are taken. NULL = the job has no key. */
	const char *key_file;
	/* Appended after v0.2. While the gateway answers that a chunk is
	 * counted and waits for other ranks (WAITING), an allreduce waits for
	 * them up to peer_timeout_ms (a slow rank is not a dead gateway;
	 * timeout_ms still bounds a silent gateway); 0 = 1800000 (30 min, gloo's
	 * default). The error then names the ranks waited for. */
	uint32_t peer_timeout_ms;
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
	/* Added after v0.1 (appended): the round number of this run's first
	 * allreduce, from the gateway (docs/protocol.md section 6). */
	uint32_t round_base;
	/* Appended after v0.2: 1 for a partial job, whose rounds may close
	 * before every rank contributed (a quorum or a deadline in its policy;
	 * docs/protocol.md section 5, "Partial rounds"). A result then sums the
	 * ranks that daitn_result_ranks() names, chunk by chunk; a call must fit
	 * the job's slots; a call that missed its round fails with -ESTALE. */
	uint8_t partial;
	/* Appended after v0.3: 1 for a federated-average job ("mode":
	 * "fedavg"), which takes daitn_allreduce_weighted() only. */
	uint8_t fedavg;
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

/* More counters (added after v0.1 as a separate struct so that callers that
 * allocate struct daitn_stats, e.g. ctypes mirrors, keep their size). */
struct daitn_stats_ext {
	uint64_t datagrams_sent;   /* GRAD datagrams handed to the kernel */
	uint64_t tx_dropped;       /* datagrams the kernel had no buffer for
				      (left to retransmission) */
	uint64_t ignored;          /* received datagrams that were not a RESULT
				      (or ERROR) for this job and rank: malformed,
				      foreign source, other message types */
	uint64_t rx_truncated;     /* received datagrams over the buffer size */
	uint64_t icmp_errors;      /* ICMP errors reported through the socket */
	uint64_t gso_fallbacks;    /* the kernel refused GSO; plain sends since */
	uint32_t flags;            /* DAITN_STATS_GSO | DAITN_STATS_GRO: in use now */
	uint32_t gso_segs;         /* datagrams per GSO send (when in use) */
	uint32_t srtt_us;          /* smoothed chunk round trip; 0 = no sample yet */
	uint32_t rto_us;           /* first retransmission timeout now in use */
	uint32_t cwnd;             /* congestion window now in use, chunks */
};

#define DAITN_STATS_GSO 0x1u       /* sends use UDP GSO (UDP_SEGMENT) */
#define DAITN_STATS_GRO 0x2u       /* receives use UDP GRO */

/* Join the job: bind the socket, send HELLO, wait for HELLO_ACK. The run
 * starts when every rank has joined, so this returns once all have (or
 * join_timeout_ms passed: -ETIMEDOUT naming the missing ranks).
 * Returns 0 and *out, or -EINVAL (bad config), -ETIMEDOUT (no answer),
 * -ECONNREFUSED (the gateway refused: unknown job, not admitted, parameters;
 * or an ICMP port unreachable came back: nothing listens there),
 * -EHOSTUNREACH/-ENETUNREACH (ICMP), -EPROTO (malformed HELLO_ACK),
 * or another negative errno from the socket calls. On failure *out is NULL
 * and daitn_last_error(NULL) says why.
 * Environment: DAITN_GSO=0 / DAITN_GRO=0 turn UDP segmentation offload /
 * receive coalescing off (e.g. when the gateway reads a veth with af_packet,
 * which would see unsegmented GSO super-packets). */
int daitn_open(const struct daitn_config *cfg, struct daitn **out);

/* Sum buf over all workers of the job, in place. count elements of dtype.
 * dtype may differ from the job's wire type only as float32 data on an int32
 * job (converted to fixed point and back; -ERANGE if a value is too large).
 * Every worker must call with the same count and dtype, in the same order.
 * Returns 0, -EINVAL, -ERANGE, -EMSGSIZE, -ESTALE, -ETIMEDOUT, or a negative
 * errno. -EINVAL, -ERANGE and, on a partial job, -EMSGSIZE for a call of more
 * chunks than the job has slots (ceil(count / (chunk_size / element size)) >
 * n_slots) are found before anything is sent: buf is untouched and the
 * handle stays usable.
 * A partial job (daitn_job()->partial) may close a round without this rank
 * (a quorum or a deadline): the call then either succeeds with the others'
 * sum (daitn_result_ranks() tells), or, once the job has moved on, fails
 * with -ESTALE: buf is partly summed, nothing else is wrong, and the next
 * call takes part in the job's current round (daitn_next_round()). Rounds
 * are matched by number only: a program that makes several calls per step
 * must read daitn_next_round() to know which of its tensors that round is
 * (daitn-worker does), or keep to one call per step.
 * Any other failure after sending started (-ETIMEDOUT, an
 * ERROR from the gateway as -ECONNREFUSED, -ECONNRESET when the gateway says
 * this run is over, -ECONNABORTED when a rank the gateway waits for is gone
 * (daitn_peer_gone), a socket error) leaves buf partly
 * summed and the handle out of step with the other workers: later calls
 * return -EPIPE; close it. count == 0 is a no-op. */
int daitn_allreduce(struct daitn *d, void *buf, size_t count, enum daitn_dtype dtype);

/* A federated-average job (daitn_job()->fedavg): replace buf by the mean of
 * the contributions in the round, each weighted by its rank's weight (for
 * example its sample count): sum(w_i * x_i) / sum(w_i) over the ranks in
 * the result, chunk by chunk (on a partial job a chunk's ranks are those
 * daitn_result_ranks() names, and daitn_result_weight() gives their total
 * weight). dtype is the job's (float32, bfloat16 or float16); weight must be
 * positive and finite. Each chunk carries chunk_size / element size - 1
 * elements and the weight, all in the job's type: a rank sends w * x_i and w
 * rounded to it, and the gateway sums them as any job's chunks
 * (docs/protocol.md section 5, "Federated averaging"). The mean is invariant
 * under a common factor of the weights: scale them so that w * x and the
 * sums over the ranks fit a float16 job's range. Returns what
 * daitn_allreduce() does; before anything is sent, also -EINVAL (not a
 * fedavg job, a bad weight) and -ERANGE (w * x overflows the type: buf is
 * untouched); after the round, -EOVERFLOW when a chunk's total weight
 * overflowed the type and -EPROTO when it is not positive (a rank sent
 * unweighted chunks): buf is untouched, the handle in step. */
int daitn_allreduce_weighted(struct daitn *d, void *buf, size_t count, enum daitn_dtype dtype,
			     double weight);

/* After a successful daitn_allreduce_weighted(): the total weight of the
 * ranks in chunk `chunk` (0-based; element chunk * (chunk_size / element
 * size - 1) on), as the job's type carried it. Valid until the next call on
 * d. Returns 0, -EINVAL (d or weight NULL), -ENOENT (the last call was not a
 * successful weighted one, or had no elements) or -ERANGE (not one of its
 * chunks). */
int daitn_result_weight(const struct daitn *d, uint64_t chunk, double *weight);

/* A partial job: after a successful daitn_allreduce() (or weighted call),
 * which ranks chunk `chunk` (0-based; element chunk * (chunk_size / element
 * size) on, or chunk * (chunk_size / element size - 1) on a fedavg job) of its
 * result holds: *n_in of them, and *bitmap points at (n_workers + 7) / 8
 * bytes where rank r is bit r % 8 of byte r / 8. A rank's own bit is clear
 * when its round closed without it (the result is the others' sum). Valid
 * until the next call on d; n_in or bitmap may be NULL. Returns 0, -EINVAL
 * (d is NULL), -ENOENT (the job is not partial, or the last call did not
 * succeed), or -ERANGE (chunk is not one of that call's chunks). */
int daitn_result_ranks(const struct daitn *d, uint64_t chunk, uint16_t *n_in,
		       const uint8_t **bitmap);

/* The index of d's next allreduce among the run's rounds: that call uses
 * round round_base + the index (modulo 2^32). It counts the calls that sent
 * anything (0 before the first) and, on a partial job, jumps forward when a
 * call fails with -ESTALE: the rounds the job closed without this rank are
 * skipped. 0 if d is NULL. */
uint32_t daitn_next_round(const struct daitn *d);

/* A partial job: this rank takes no part in the next n rounds (its device
 * is away, it has nothing to send): the job closes them without it, by
 * quorum or deadline, and d's next call uses round daitn_next_round() + n.
 * The gateway holds that call's chunks back until the job has closed the
 * rounds before it (docs/protocol.md section 5, "Partial rounds"), and the
 * call waits for that within timeout_ms. Returns 0, or -EINVAL (d is NULL,
 * its job is not partial: its rounds never close without a rank, or n is
 * 2^30 or more: rounds that far apart are outside the run). */
int daitn_skip_rounds(struct daitn *d, uint32_t n);

/* Tell d that rank's process is known to be gone (its peers saw its
 * connections close, e.g. those of the framework's own process group).
 * Any thread, at any time while d is open, concurrently with an allreduce.
 * An allreduce waiting on the gateway then fails with -ECONNABORTED naming
 * the rank, once the gateway says after this call that it still waits for
 * that rank's contribution; a rank whose contributions are all counted
 * does not fail the call. Returns 0, or -EINVAL for a rank not in the job. */
int daitn_peer_gone(struct daitn *d, uint16_t rank);

/* Abandon d: from any thread, at any time while d is open. An allreduce
 * that is waiting stops within a wait's wake-up and fails with -ECANCELED
 * (one whose last sum arrives with the abort returns 0: buf is summed);
 * every later call fails with -ECANCELED before sending (buf untouched).
 * For a caller whose peers have given up on the job (one of them failed
 * and the program switches to another way of summing): daitn_chunks_done()
 * then says which chunks of buf already hold the sum. Close d afterwards.
 * Returns 0, -EINVAL (d is NULL), or a negative errno from waking it. */
int daitn_abort(struct daitn *d);

/* After daitn_allreduce() returned, successfully or not, once it had
 * something to send: *n_chunks is that call's number of chunks (of
 * chunk_size bytes of the wire type; the last may be short) and *bitmap
 * points at (*n_chunks + 7) / 8 bytes where chunk k is bit k % 8 of byte
 * k / 8, set when chunk k of buf holds the sum (its RESULT was copied in)
 * and clear when it still holds this rank's data. float32 data on an int32
 * job is converted back only when the whole call succeeds: after a failure
 * no bit is set. Valid until the next call on d; either pointer may be NULL.
 * Returns 0, -EINVAL (d is NULL) or -ENOENT (no call, one that failed before
 * sending, had no elements, or was weighted). */
int daitn_chunks_done(const struct daitn *d, uint64_t *n_chunks, const uint8_t **bitmap);

void daitn_close(struct daitn *d);

const struct daitn_job_info *daitn_job(const struct daitn *d);
void daitn_stats_get(const struct daitn *d, struct daitn_stats *out);
void daitn_stats_ext_get(const struct daitn *d, struct daitn_stats_ext *out);

/* The last failure on d, as a sentence; "" if none. Valid until the next call.
 * d == NULL gives the last daitn_open() failure of the calling thread (a
 * failed open returns no handle), e.g. the gateway's refusal text. */
const char *daitn_last_error(const struct daitn *d);

const char *daitn_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* DAITN_H */
