/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal protocol peer for libdaitn's unit tests.
 *
 * It exists ONLY to feed the client the messages it must handle (HELLO_ACK,
 * ERROR, RESULT, stale and duplicate RESULTs, silence, drops) and to record
 * what the client sends, so that the tests check the client's own logic. It
 * is not a gateway and never stands in for one: it does not aggregate (a
 * RESULT is the received contribution times `mult`, as if `mult` identical
 * workers had sent it), keeps no slot state and admits anything. End-to-end
 * behaviour against the real daitn-gw is the integration tests' job.
 *
 * The peer runs in its own thread on 127.0.0.1, one UDP socket per shard
 * port. Its configuration is fixed before tpeer_start(); its records are read
 * by the main thread after tpeer_stop() (pthread_join orders the accesses).
 * Only the main thread asserts.
 */
#ifndef DAITN_TEST_PEER_H
#define DAITN_TEST_PEER_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dp_auth.h"
#include "dp_proto.h"

#define TPEER_SHARDS_MAX 8
#define TPEER_RECORDS_MAX 4096

enum tpeer_hello {
	TPEER_HELLO_ACK = 0,        /* answer with the configured job */
	TPEER_HELLO_ERROR,          /* answer ERROR code/text */
	TPEER_HELLO_BAD_ACK,        /* a HELLO_ACK with n_slots 0 */
	TPEER_HELLO_OTHER_ROUND,    /* first an ACK with another round, then the right one */
	TPEER_HELLO_SILENT,         /* never answer */
	TPEER_HELLO_WAIT,           /* HELLO_WAIT (ranks 1 and 3 missing) to the
				       first wait_hellos HELLOs, then an ACK */
};

/* Malformed ranks trailers sent before a partial job's RESULT (bits of
 * tpeer.bad_ranks), each with wrong elements (+1000) and a good tag. */
#define TPEER_BAD_NWORKERS 0x01u    /* n_workers the job's + 1 */
#define TPEER_BAD_N_IN_ZERO 0x02u   /* n_in 0, no bit set */
#define TPEER_BAD_N_IN_COUNT 0x04u  /* n_in one more than the bits set */
#define TPEER_BAD_PAD_BIT 0x08u     /* a bit past the last rank (n_in counts it) */
#define TPEER_BAD_NO_FLAG 0x10u     /* no RANKS flag and no trailer */

/* One GRAD as received. */
struct tpeer_rec {
	struct dp_proto_hdr h;
	uint16_t port;              /* the peer port it arrived on */
	uint32_t len;               /* UDP payload bytes */
	bool ranks;                 /* it had the RANKS flag: its trailer's fields */
	uint16_t ranks_nw, ranks_n_in;
	bool ranks_zero;            /* the trailer's bitmap is all zeros */
	bool ranks_after_elems;     /* the trailer starts right after the elements */
	uint32_t in_flight;         /* first transmissions not yet answered, this one included */
	bool retransmission;        /* a copy of an earlier GRAD (same slot, set, tag) */
	bool tag_ok;                /* with a key: its tag checked under key and salt */
};

struct tpeer {
	/* configuration, set before tpeer_start() */
	enum tpeer_hello hello;
	struct dp_proto_job_info job;  /* udp_port_base is filled by tpeer_start() */
	uint16_t job_id;
	uint16_t err_code;
	const char *err_text;
	unsigned wait_hellos;       /* TPEER_HELLO_WAIT: HELLOs answered with a wait */
	int mult;                   /* RESULT = contribution * mult (f32, i32) */
	float fedavg_w;             /* != 0, a fedavg f32 job: RESULT also adds a
				       rank of this weight whose elements are 1
				       (fedavg_w to each element, its weight last) */
	uint32_t drop_first_offset; /* drop the first copy of the GRAD at this offset */
	bool drop_enabled;
	bool dup_results;           /* send every RESULT twice */
	bool stale_before;          /* before each RESULT, one for round - 1 */
	bool garbage_before;        /* before each RESULT, a datagram with a bad magic */
	bool silent_grads;          /* never answer GRADs */
	bool silent_from;           /* never answer GRADs at offset >= silent_offset */
	uint32_t silent_offset;
	bool hold;                  /* with silent_from: keep the first such GRAD for
				       tpeer_release() (held is set once it is kept) */
	bool waiting_grads;         /* answer every GRAD with WAITING (rank 0 missing) */
	bool gso_results;           /* send RESULTs of a receive batch with UDP_SEGMENT */
	unsigned loss_pct;          /* drop this % of GRADs and, independently, of RESULTs */
	unsigned result_delay_ms;   /* hold each RESULT this long (the peer thread sleeps) */
	const struct dp_auth_key *key;  /* the job's key: sign answers and RESULTs as the
				       gateway does (salt in the HELLO_ACK) */
	uint64_t salt;
	bool forge_before;          /* before each RESULT, a forged one: every value
				       + 1e6, and (with a key) a tag made without it */
	/* A partial job (set DP_PROTO_JOB_PARTIAL in job.flags too): RESULTs
	 * carry the ranks trailer, the job's n_workers and the ranks in
	 * ranks_bits[slot index % 4] (0: every rank), n_in their count. */
	bool partial_results;
	uint64_t ranks_bits[4];
	unsigned bad_ranks;         /* TPEER_BAD_*: sent before each RESULT */
	/* GRADs of round close_round draw ERROR 6 (round closed) with header
	 * offset close_to, cut to the GRAD's payload size; with
	 * close_other_first, an ERROR 6 that echoes round + 7 goes first. */
	bool close_enabled;
	uint32_t close_round;
	uint32_t close_to;
	bool close_other_first;

	/* state, owned by the peer thread until tpeer_stop() */
	int fds[TPEER_SHARDS_MAX];
	pthread_t thread;
	atomic_bool stop;
	unsigned hellos;            /* HELLOs received */
	uint32_t hello_round;       /* round of the last HELLO */
	unsigned grads;             /* GRADs received (all copies) */
	unsigned firsts;            /* GRADs that were not copies */
	unsigned dropped;           /* GRADs dropped (drop_first_offset, loss_pct) */
	unsigned results_lost;      /* RESULTs dropped by loss_pct */
	uint64_t rng;               /* loss_pct's generator state */
	unsigned results_sent;      /* genuine RESULTs (without dup/stale extras) */
	unsigned closed_sent;       /* ERROR 6 answers (without the other-round ones) */
	unsigned gso_sends;         /* sendmsg calls that carried several RESULTs */
	unsigned send_errors;       /* GSO sends the kernel refused */
	unsigned bad;               /* datagrams that failed dp_proto_hdr_check */
	atomic_bool held;           /* hold: a GRAD is kept (then owned by the test) */
	uint8_t held_buf[DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE + DP_PROTO_CHUNK_SIZE_MAX];
	uint32_t held_len;
	struct dp_proto_hdr held_h;
	struct sockaddr_in held_from;
	int held_fd;
	unsigned n_recs;
	struct tpeer_rec recs[TPEER_RECORDS_MAX];
};

/* Bind n_shards consecutive ports on 127.0.0.1 and start the thread.
 * Returns 0 or a negative errno. */
int tpeer_start(struct tpeer *p);

/*
 * Answer the GRAD kept by hold (p->held true) with its RESULT now, from the
 * calling thread; on loopback the RESULT is in the worker's socket when this
 * returns. 0, or -EAGAIN if nothing is held yet. Any thread, once held is set;
 * not with gso_results.
 */
int tpeer_release(struct tpeer *p);

/* Stop and join the thread, close the sockets. */
void tpeer_stop(struct tpeer *p);

/* Bind a UDP socket on 127.0.0.1 to an ephemeral port; returns the fd and
 * *port, or -1. */
int tpeer_udp_socket(uint16_t *port);

/* Bind n UDP sockets on 127.0.0.1 to consecutive ports *base .. *base+n-1.
 * Returns 0 or a negative errno. */
int tpeer_udp_range(int *fds, unsigned n, uint16_t *base);

#endif /* DAITN_TEST_PEER_H */
