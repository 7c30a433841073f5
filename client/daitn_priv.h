/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libdaitn internals, shared by the files of client/ (and, for white-box
 * tests and the send benchmark, by tests/client and client/daitn_bench.c).
 * Not installed; not part of the API.
 *
 * A handle owns one UDP socket. daitn_io batches datagrams to the gateway's
 * shard ports (UDP GSO inside one sendmmsg when the kernel allows it) and
 * splits coalesced receptions (UDP GRO). daitn_allreduce drives the slot
 * window on top of it. Everything here runs on the thread that owns the
 * handle; nothing locks.
 */
#ifndef DAITN_PRIV_H
#define DAITN_PRIV_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "daitn.h"
#include "dp_auth.h"
#include "dp_proto.h"

#define DAITN_ERR_SIZE 256
/* daitn_skip_rounds(): fewer than this (the gateway's run window, within
 * which rounds compare as serial numbers). */
#define DAITN_SKIP_MAX (1u << 30)

/* Datagrams one GSO send may carry (the kernel's UDP_MAX_SEGMENTS is 64 on
 * older kernels) and the UDP payload bound of one IPv4 datagram. */
#define DAITN_GSO_SEGS_MAX 64u
#define DAITN_UDP_PAYLOAD_MAX 65507u

/* Chunks queued between two flushes; a full queue flushes itself. */
#define DAITN_TX_QUEUE_MAX 1024u

/* First congestion window (chunks) of a handle. */
#define DAITN_CWND_INIT 32.0

/* Receive batch: messages per recvmmsg, and their buffer size with and
 * without GRO. A coalesced GRO buffer holds up to 64 KiB and a smaller one
 * would truncate it; but results often arrive uncoalesced (a veth without
 * NAPI GRO), so GRO keeps the 64 messages per call too. 4 MiB of address
 * space; only the pages written are resident. */
#define DAITN_RX_MSGS_GRO 64u
#define DAITN_RX_MSGS_PLAIN 64u
#define DAITN_RX_BUF_GRO 65536u

/* The longest header a datagram may have: daitn header and tag. */
#define DAITN_HDR_MAX (DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE)

/* One datagram waiting for daitn_io_flush(): the header is copied (22
 * bytes, 30 with a tag), the payload is referenced and must stay valid until
 * the flush. */
struct daitn_tx_chunk {
	uint8_t hdr[DAITN_HDR_MAX];     /* wire-format daitn header [and tag] */
	uint16_t shard;                 /* destination port = port_base + shard */
	uint32_t payload_size;          /* bytes */
	const void *payload;
};

/* Called once per received datagram (GRO buffers already split). */
typedef void (*daitn_io_rx_fn_t)(void *arg, const uint8_t *data, uint32_t len,
				 const struct sockaddr_in *src);

struct daitn_io {
	int fd;
	struct sockaddr_in gw;      /* gateway address; port = port_base */
	uint16_t port_base;         /* shard k listens on port_base + k */
	uint8_t n_shards;
	uint8_t hdr_size;           /* bytes of each queued header: 22, or 30 tagged */
	bool gso;                   /* UDP_SEGMENT in use */
	uint8_t iov_per;            /* iovecs per datagram: 2, or 3 with a trailer */
	bool gro;                   /* UDP_GRO enabled on the socket */
	uint32_t seg_size;          /* bytes of a full datagram (hdr + chunk) */
	uint32_t gso_segs;          /* datagrams per GSO send */
	int wake_fd;                /* readable: stop waiting (daitn_abort); -1: none */

	/* TX queue, grouped by shard at flush time. */
	struct daitn_tx_chunk *txq; /* DAITN_TX_QUEUE_MAX entries */
	uint32_t txq_n;
	uint32_t *shard_next;       /* per chunk: next queued chunk of its shard */
	uint32_t *shard_head;       /* per shard: first queued chunk (or UINT32_MAX) */
	uint32_t *shard_tail;
	struct mmsghdr *tx_msgs;    /* DAITN_TX_QUEUE_MAX */
	struct iovec *tx_iov;       /* 3 per chunk */
	/* Bytes sent after every queued payload (a partial job's GRAD trailer,
	 * the same in every GRAD): referenced, set with daitn_io_trailer_set(). */
	const void *tx_trailer;
	uint32_t tx_trailer_size;
	struct sockaddr_in *tx_dst; /* per shard */
	uint8_t *tx_cmsg;           /* one UDP_SEGMENT cmsg per message */

	/* RX buffers. */
	uint32_t rx_msgs_n;
	uint32_t rx_buf_size;
	uint8_t *rx_arena;
	struct mmsghdr *rx_msgs;
	struct iovec *rx_iov;
	struct sockaddr_in *rx_src;
	uint8_t *rx_cmsg;
	bool rx_more;               /* the last batch was full: more may wait */

	/* Counters (also copied into struct daitn_stats). */
	uint64_t send_calls;
	uint64_t recv_calls;
	uint64_t datagrams_sent;
	uint64_t tx_dropped;        /* datagrams lost to ENOBUFS/EAGAIN */
	uint64_t gso_fallbacks;     /* GSO refused by the kernel, plain from then on */
	uint64_t rx_truncated;      /* datagrams larger than the receive buffer */
	uint64_t icmp_errors;       /* errors read from the socket's error queue */
	int last_icmp_errno;        /* errno of the last one (positive) */
};

/* Per slot index: the current use and when to retransmit it. */
struct daitn_slot {
	bool busy;                  /* a chunk is outstanding on this slot */
	uint8_t set;                /* set bit of the NEXT use (alternates) */
	uint8_t cur_set;            /* set bit of the current use */
	uint8_t tries;              /* retransmissions of the current use */
	bool counted;               /* a WAITING said the gateway holds our chunk:
				       it waits for slower ranks, it is not lost */
	uint16_t count;             /* elements of the current use */
	uint32_t offset;            /* element offset of the current use */
	uint64_t deadline_ns;       /* retransmit when the clock passes this */
	uint64_t sent_ns;           /* first transmission of the current use */
};

struct daitn {
	struct daitn_io io;
	struct daitn_job_info job;
	uint16_t job_id;
	uint16_t rank;
	uint32_t timeout_ms;
	uint32_t peer_timeout_ms;   /* waiting for other ranks (WAITING) */
	uint32_t rto_us;            /* configured floor of the first timeout */
	uint64_t srtt_ns;           /* smoothed RTT of unretransmitted chunks; 0: none yet */
	uint64_t rttvar_ns;
	uint64_t start_srtt_ns;     /* smoothed time from a call's first send to its
				       first RESULT (the ranks' skew); 0: none yet */
	uint64_t start_rttvar_ns;
	unsigned backoff;           /* shift on the first timeout after timeouts,
				       until the next RTT sample */
	double cwnd;                /* congestion window, chunks (<= window) */
	double ssthresh;            /* slow start below this */
	uint64_t recover_ns;        /* no further window cut before this time */
	uint32_t window;            /* min(config window, n_slots) */
	uint32_t round;             /* the next call's round number (starts at round_base;
				       an ERROR 6 moves it on to the job's round) */
	bool failed;                /* an allreduce failed mid-flight; the slot sets
				       may no longer agree with the other workers */
	/* A partial job (docs/protocol.md section 5, "Partial rounds"): every
	 * GRAD and RESULT carries the ranks trailer, chunk k uses slot k and
	 * set round & 1, a call fits the slots. */
	bool partial;
	uint16_t ranks_size;        /* bytes of a trailer: dp_proto_ranks_size(n_workers) */
	uint8_t grad_trailer[DP_PROTO_RANKS_HDR + DP_PROTO_WORKERS_MAX / 8];
				    /* a GRAD's: n_workers, n_in 0, zeros */
	/* A keyed job whose tags cover the payload hashes elements and trailer
	 * as one run of bytes (dp_auth_tag), so its GRADs are staged: per slot
	 * chunk_size + ranks_size bytes, grown at a call's start. */
	uint8_t *stage;
	size_t stage_size;          /* bytes */
	bool staged;                /* GRADs go out of stage (else the io appends
				       grad_trailer) */
	/* The trailers of the last call's RESULTs, chunk by chunk (ranks_size
	 * each), grown at a call's start; valid when ranks_ok. */
	uint8_t *ranks;
	size_t ranks_cap;           /* bytes */
	uint64_t ranks_chunks;      /* chunks of the last call */
	bool ranks_ok;              /* the last call succeeded */
	struct daitn_slot *slots;   /* n_slots */
	void *scratch;              /* int32 staging for float32 data on int32 jobs;
				       a fedavg job's weighted chunks on the wire */
	size_t scratch_size;        /* bytes */
	uint64_t weight_chunks;     /* chunks of the last weighted call that
				       succeeded (their weights in scratch); 0: none */
	size_t weight_count;        /* ... and its elements (the caller's) */
	struct daitn_stats stats;
	uint64_t held_resends;      /* of those retransmits, chunks the gateway said
				       it counted (WAITING): at the ceiling only */
	uint64_t ignored;           /* see struct daitn_stats_ext */
	bool keyed;                 /* the job has a key: everything is tagged */
	struct dp_auth_key key;     /* cover as the gateway's HELLO_ACK said */
	uint64_t salt;              /* the run's: context of GRAD and RESULT tags */
	uint64_t auth_failed;       /* received results and errors whose tag failed
				       (also counted in ignored) */
	/* Ranks known gone (daitn_peer_gone, any thread): a bit per rank,
	 * and a count of calls so the engine sees news with one load. */
	_Atomic uint64_t *gone;     /* (n_workers + 63) / 64 words */
	_Atomic uint32_t gone_news;
	/* daitn_abort (any thread): set once; io.wake_fd wakes the wait. */
	_Atomic bool aborted;
	/* Which chunks of the last call's buf hold their sum, a bit per chunk
	 * (daitn_chunks_done); done_chunks == 0: no call to tell of. */
	uint8_t *done_map;
	size_t done_cap;            /* bytes */
	uint64_t done_chunks;
	char last_error[DAITN_ERR_SIZE];
};

/* ---- daitn_err.c ---- */
/* Set d's last error (or, with d == NULL, this thread's open error) and
 * return err unchanged, so callers can "return daitn_err(d, -EINVAL, ...)". */
int daitn_err(struct daitn *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void daitn_err_clear(struct daitn *d);

/* ---- daitn_io.c ---- */
/* Size the socket buffers and set the socket options the data path needs;
 * probes GSO/GRO (DAITN_GSO=0 / DAITN_GRO=0 in the environment turn them
 * off). seg_size is the size of a full datagram. Returns 0 or -errno. */
int daitn_io_init(struct daitn_io *io, int fd, const struct sockaddr_in *gw,
		  uint16_t port_base, uint8_t n_shards, uint32_t seg_size);
void daitn_io_fini(struct daitn_io *io);

/* Queue one datagram for shard. hdr is io->hdr_size wire bytes (copied); payload is
 * referenced until the flush. Flushes by itself when the queue is full.
 * Every queued datagram except the last of a shard's group must be seg_size
 * bytes long for GSO; shorter ones end a GSO batch (handled here).
 * Returns 0 or a negative errno from the flush. */
int daitn_io_queue(struct daitn_io *io, uint16_t shard, const void *hdr,
		   const void *payload, uint32_t payload_size);

/* Append the trailer (size bytes at trailer, referenced until the io is
 * finished; NULL/0: none) to every datagram queued from now on. seg_size
 * must already count it. */
void daitn_io_trailer_set(struct daitn_io *io, const void *trailer, uint32_t size);

/* Forget what is queued without sending it (a call that ends early). */
void daitn_io_discard(struct daitn_io *io);

/* Send everything queued: one GSO message per shard (and per gso_segs
 * datagrams), all in as few sendmmsg calls as possible; plain datagrams if
 * GSO is off or the kernel refuses it (then off for good). Datagrams the
 * kernel drops for lack of buffers are counted in tx_dropped and left to the
 * retransmission timer. Returns 0, or -EMSGSIZE (a datagram exceeds the path
 * MTU), -ECONNREFUSED/-EHOSTUNREACH/-ENETUNREACH (an ICMP error reported
 * through the socket), or another negative errno. */
int daitn_io_flush(struct daitn_io *io);

/* Read what is waiting, without blocking: up to one recvmmsg batch, each
 * GRO buffer split at its gso_size. Calls fn per datagram. Returns the number
 * of datagrams delivered, or a negative errno; io->rx_more says whether the
 * batch was full (more may be waiting). */
int daitn_io_rx(struct daitn_io *io, daitn_io_rx_fn_t fn, void *arg);

/* Wait until the socket is readable, io->wake_fd is, or timeout_ns passes
 * (0: poll once). Returns 1 (the socket is readable), 0 (timed out or woken),
 * or a negative errno. An ICMP error
 * waiting on the socket is consumed and reported as its negative errno. */
int daitn_io_wait(struct daitn_io *io, uint64_t timeout_ns);

/* Drain the socket's error queue (IP_RECVERR); returns the negative errno of
 * the last ICMP error found, or 0 if none. */
int daitn_io_errqueue(struct daitn_io *io);

/* ---- daitn_msg.c ---- */
/* Build a header in wire format. */
void daitn_msg_hdr(uint8_t *dst, uint8_t type, uint16_t job, uint16_t rank,
		   uint16_t slot, uint8_t dtype, uint16_t count, uint32_t offset,
		   uint32_t round);

/* Tag the message at msg (header, 8 bytes for the tag, then n payload
 * bytes at msg + 30): sets the AUTH flag and writes the tag. */
void daitn_msg_sign(uint8_t *msg, const struct dp_auth_key *key, uint64_t context, size_t n);

/* Whether a received message (len bytes, header already checked into *h)
 * is authentic for a handle with key (NULL: no key, so it must carry no
 * tag either). */
bool daitn_msg_auth_ok(const struct dp_auth_key *key, uint64_t context, const uint8_t *data,
		       uint32_t len, const struct dp_proto_hdr *h);

/* Check a received control message (HELLO_ACK, HELLO_WAIT or ERROR) addressed to
 * (job, rank). Returns the message type and *round (echoed from the HELLO;
 * round may be NULL), or 0 if the datagram is not one (fails
 * dp_proto_hdr_check, another type, job or rank). */
int daitn_msg_ctrl_parse(const uint8_t *data, uint32_t len, uint16_t job, uint16_t rank,
			 uint32_t *round);

/* Fill *info from a HELLO_ACK datagram (already accepted by
 * daitn_msg_ctrl_parse) and check it. *port_base receives the shard port
 * base. Returns 0, or -EPROTO with why in err (a sentence). */
int daitn_msg_ack_decode(const uint8_t *data, uint32_t len, uint16_t rank,
			 struct daitn_job_info *info, uint16_t *port_base,
			 char *err, size_t err_size);

/* From an authenticated HELLO_ACK: the run's salt and whether the job's
 * tags cover GRAD and RESULT headers only. */
void daitn_msg_ack_auth(const uint8_t *data, uint64_t *salt, bool *header_only);

/* Decode an ERROR datagram: code and NUL-terminated text (sanitised). */
void daitn_msg_error_decode(const uint8_t *data, uint32_t len, uint16_t *code,
			    char *text, size_t text_size);

const char *daitn_msg_err_name(uint16_t code);

/* ---- daitn_time ---- */
/*
 * The library's clock: CLOCK_MONOTONIC, unless a test installs a virtual one
 * with daitn_clock_set(now, arg). Under a virtual clock, a wait that finds
 * nothing to read does not sleep: it advances the clock by its timeout
 * (daitn_clock_advance), so timers and timeouts run in virtual time and a
 * test against a silent peer is exact and instant. Set it only while no
 * handle is in a call; not for peers that answer (their answers come in
 * real time). now == NULL restores the real clock.
 */
struct daitn_clock {
	uint64_t (*now)(void *arg);
	void (*advance)(void *arg, uint64_t ns);
	void *arg;
};
extern struct daitn_clock daitn_clock;
void daitn_clock_set(uint64_t (*now)(void *), void (*advance)(void *, uint64_t), void *arg);

/* CLOCK_MONOTONIC in ns, whatever clock is installed (for a test's clock
 * that passes real time on). */
static inline uint64_t
daitn_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
daitn_now_ns(void)
{
	if (daitn_clock.now != NULL)
		return daitn_clock.now(daitn_clock.arg);
	return daitn_mono_ns();
}

#endif /* DAITN_PRIV_H */
