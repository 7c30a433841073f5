/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_proto: the daitn wire protocol, version 2 (specified in docs/protocol.md).
 *
 * The gateway and libdaitn both include this header; it has no DPDK dependency
 * and no state. Every function is pure and may be called from any thread.
 *
 * A daitn message is the payload of one UDP/IPv4 datagram:
 *
 *     Ethernet (14) | IPv4 (20, no options) | UDP (8) | dp_proto_hdr (22) | payload
 *
 * 14 + 20 + 8 + 22 = 64, so in an mbuf whose frame starts on a cache line the
 * payload starts on the next one (the SIMD add is ~10% faster aligned).
 *
 * Byte order: every header field is big-endian (network order). The payload of
 * GRAD and RESULT messages is an array of little-endian elements (the byte order
 * of every host we target), so neither side swaps bytes on the data path.
 */
#ifndef DP_PROTO_H
#define DP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_PROTO_MAGIC 0xDA17u
#define DP_PROTO_VERSION 2u
#define DP_PROTO_UDP_PORT_DEFAULT 47000u

/* Bytes before the payload in a frame: Ethernet + IPv4 + UDP + daitn header. */
#define DP_PROTO_L2_L4_SIZE 42u
#define DP_PROTO_HDR_SIZE 22u
#define DP_PROTO_FRAME_HDR_SIZE (DP_PROTO_L2_L4_SIZE + DP_PROTO_HDR_SIZE)

/* Payload bytes per chunk: 64 B .. 8 KiB (8 KiB + 64 fits a 9000-byte jumbo MTU). */
#define DP_PROTO_CHUNK_SIZE_MIN 64u
#define DP_PROTO_CHUNK_SIZE_MAX 8192u
#define DP_PROTO_CHUNK_SIZE_DEFAULT 1024u

/* The slot field: bit 15 selects the slot set (0/1), bits 0..14 the slot index. */
#define DP_PROTO_SLOT_SET_BIT 0x8000u
#define DP_PROTO_SLOT_INDEX_MASK 0x7fffu
#define DP_PROTO_SLOTS_MAX 0x8000u

/* HELLO and LEAVE carry this many bytes of padding (sent as zeros, not
 * checked): as many as the largest answer's payload, so that no answer of the
 * gateway to an unauthenticated request is larger than the request (a forged
 * source address gains no amplification). */
#define DP_PROTO_HELLO_PAD 64u

/* A child gateway's HELLO (a tree, docs/protocol.md section 12) says in its
 * padding the oldest round its next run may start at: bytes 0..3 the round
 * (big-endian), byte 4 DP_PROTO_HELLO_FLOOR. A worker's padding (zeros)
 * says nothing. */
#define DP_PROTO_HELLO_FLOOR 0x01u

/* Write floor into a HELLO's padding (at least 5 bytes). */
void dp_proto_hello_floor_write(void *pad, uint32_t floor);

/* True with *floor if the HELLO padding at pad (at least 5 bytes) gives one. */
bool dp_proto_hello_floor_read(const void *pad, uint32_t *floor);

/* Workers per job: ranks 0 .. DP_PROTO_WORKERS_MAX-1. */
#define DP_PROTO_WORKERS_MAX 1024u

/* flags: bits 0..3 carry a layer-priority hint (0 = none, 1 = most urgent);
 * bit 4 says an 8-byte tag follows the header (an authenticated job's
 * message, section 11 of docs/protocol.md; dp_auth.h); bit 5, on GRAD and
 * RESULT only, says the ranks trailer follows the elements (a partial job's
 * message, docs/protocol.md section 5, "Partial rounds"). */
#define DP_PROTO_FLAG_PRIO_MASK 0x0fu
#define DP_PROTO_FLAG_AUTH 0x10u
#define DP_PROTO_FLAG_RANKS 0x20u
#define DP_PROTO_FLAG_RESERVED_MASK 0xc0u
#define DP_PROTO_TAG_SIZE 8u
/* An authenticated HELLO_ACK's payload: job_info, then the run's salt
 * (8 bytes, little-endian), the context of its GRAD and RESULT tags. */
#define DP_PROTO_SALT_SIZE 8u

enum dp_proto_msg {
	DP_MSG_GRAD = 1,      /* worker -> gw: one chunk's contribution */
	DP_MSG_RESULT = 2,    /* gw -> worker: the aggregated chunk */
	DP_MSG_HELLO = 3,     /* worker -> gw: join a job; no payload */
	DP_MSG_HELLO_ACK = 4, /* gw -> worker: payload struct dp_proto_job_info */
	DP_MSG_ERROR = 5,     /* gw -> worker: payload struct dp_proto_error */
	DP_MSG_HELLO_WAIT = 6, /* gw -> worker: payload struct dp_proto_join_wait */
	DP_MSG_LEAVE = 7,     /* worker -> gw: stop waiting for the run; no payload */
	DP_MSG_WAITING = 8,   /* gw -> worker: your chunk is counted, the slot waits for
				 other ranks; payload a prefix of struct
				 dp_proto_join_wait (n_contributed in n_joined) */
	/* 16..31 are reserved for inference messages. */
};

/* Element types; the values are the wire codes. */
enum dp_proto_dtype {
	DP_DTYPE_F32 = 1,  /* IEEE binary32, accumulated in binary32 */
	DP_DTYPE_I32 = 2,  /* two's complement, summed with wrap-around */
	DP_DTYPE_BF16 = 3, /* bfloat16, accumulated in binary32 */
	DP_DTYPE_F16 = 4,  /* IEEE binary16, accumulated in binary32 */
};

struct dp_proto_hdr {
	uint16_t magic;   /* DP_PROTO_MAGIC */
	uint8_t version;  /* DP_PROTO_VERSION */
	uint8_t type;     /* enum dp_proto_msg */
	uint16_t job;     /* job id from the policy */
	uint16_t rank;    /* sender's (GRAD, HELLO) or receiver's (RESULT) rank */
	uint16_t slot;    /* set bit | slot index */
	uint8_t dtype;    /* enum dp_proto_dtype; must equal the job's */
	uint8_t flags;    /* DP_PROTO_FLAG_* */
	uint16_t count;   /* elements in the payload */
	uint32_t offset;  /* element offset of this chunk within the tensor */
	uint32_t round;   /* allreduce call number within the job (wraps) */
} __attribute__((packed));

_Static_assert(sizeof(struct dp_proto_hdr) == DP_PROTO_HDR_SIZE, "wire header size");

/* HELLO_ACK payload (big-endian fields). */
struct dp_proto_job_info {
	uint16_t n_workers;
	uint16_t chunk_size;     /* payload bytes per full chunk */
	uint16_t n_slots;        /* slot indices 0 .. n_slots-1 may be used */
	uint16_t udp_port_base;  /* slot i is sent to udp_port_base + i % n_shards */
	uint8_t n_shards;
	uint8_t dtype;
	uint8_t frac_bits;       /* int32 jobs: fixed-point fraction bits */
	uint8_t flags;           /* DP_PROTO_JOB_* */
	uint32_t policy_version;
	/* The round of the run's first allreduce. Every worker of a run gets
	 * the same value; a new run gets a round newer than any the gateway
	 * still holds (docs/protocol.md, section 6). */
	uint32_t round_base;
} __attribute__((packed));

_Static_assert(sizeof(struct dp_proto_job_info) == 20, "HELLO_ACK payload size");

/* job_info.flags: the job's GRAD and RESULT tags cover the header only
 * (never set in an unauthenticated ACK); the job is partial: its uses may
 * close before every rank contributed, and its GRADs and RESULTs carry the
 * ranks trailer (DP_PROTO_FLAG_RANKS); the job is a federated average: the
 * last element of every chunk is its contributor's weight and the others
 * are pre-scaled by it (docs/protocol.md section 5, "Federated averaging";
 * the gateway sums such chunks like any other). */
#define DP_PROTO_JOB_AUTH_HEADER_ONLY 0x01u
#define DP_PROTO_JOB_PARTIAL 0x02u
#define DP_PROTO_JOB_FEDAVG 0x04u

/*
 * The ranks trailer of a partial job's GRAD (room: n_in 0, bitmap zeros)
 * and RESULT (the ranks in the sum), after the elements and covered by the
 * tag: n_workers and n_in (big-endian), then a bitmap of (n_workers + 7) / 8
 * bytes, rank r in bit r % 8 of byte r / 8.
 */
#define DP_PROTO_RANKS_HDR 4u
static inline size_t dp_proto_ranks_size(uint16_t n_workers)
{
	return DP_PROTO_RANKS_HDR + ((size_t)n_workers + 7) / 8;
}

/* Write a trailer for n_workers ranks to dst (dp_proto_ranks_size() bytes):
 * n_in and the ranks set in bitmap (words of 64 ranks, as dp_slot keeps
 * them), or zeros for a NULL bitmap (a GRAD's room). */
void dp_proto_ranks_write(void *dst, uint16_t n_workers, uint16_t n_in, const uint64_t *bitmap);

/* A trailer's counts; its bitmap follows at src + DP_PROTO_RANKS_HDR. */
void dp_proto_ranks_read(const void *src, uint16_t *n_workers, uint16_t *n_in);

/* True if rank r is set in the trailer at src. */
static inline bool dp_proto_ranks_has(const void *src, uint16_t r)
{
	return (((const uint8_t *)src)[DP_PROTO_RANKS_HDR + r / 8] >> (r % 8)) & 1;
}

enum dp_proto_err {
	DP_ERR_UNKNOWN_JOB = 1,   /* no such job in the running policy */
	DP_ERR_NOT_ADMITTED = 2,  /* source address/port does not match the rank */
	DP_ERR_BAD_PARAMS = 3,    /* dtype or chunk size differs from the job's */
	DP_ERR_OVERLOADED = 4,    /* rate-limited or out of slot memory */
	DP_ERR_RUN_ENDED = 5,     /* GRAD of a run that is over (a rank rejoined,
				     the gateway restarted or the job changed) */
	DP_ERR_ROUND_CLOSED = 6,  /* a partial job's late GRAD whose set moved
				     on; header offset: the set's round now */
};

/* HELLO_WAIT payload (big-endian fields): the HELLO was accepted, and the
 * run starts when every rank has joined. Up to 8 ranks still missing are
 * listed, lowest first; unused entries are DP_PROTO_RANK_NONE. */
#define DP_PROTO_WAIT_LIST 8u
#define DP_PROTO_RANK_NONE 0xffffu
struct dp_proto_join_wait {
	uint16_t n_workers;
	uint16_t n_joined;
	uint16_t missing[DP_PROTO_WAIT_LIST];
} __attribute__((packed));

_Static_assert(sizeof(struct dp_proto_join_wait) == 20, "HELLO_WAIT payload size");

/* A WAITING payload is cut to the GRAD it answers (no answer is larger than
 * its request): at least n_workers; what is missing reads as "not listed". */
#define DP_PROTO_WAITING_MIN 2u
_Static_assert(DP_PROTO_HELLO_PAD >= sizeof(struct dp_proto_join_wait), "HELLO padding");

/* ERROR payload. */
struct dp_proto_error {
	uint16_t code;           /* enum dp_proto_err, big-endian */
	uint16_t reserved;
	char text[60];           /* NUL-terminated, for logs */
} __attribute__((packed));

_Static_assert(sizeof(struct dp_proto_error) == 64, "ERROR payload size");

/* The shortest ERROR payload: its code. The gateway cuts the ERROR that
 * answers a GRAD (code 5) to the GRAD's payload size, so that no answer is
 * larger than its request; every other ERROR is whole (64 bytes). */
#define DP_PROTO_ERROR_MIN 2u
_Static_assert(DP_PROTO_HELLO_PAD >= sizeof(struct dp_proto_error) &&
	       DP_PROTO_HELLO_PAD >= sizeof(struct dp_proto_job_info), "HELLO padding");

/* Size in bytes of one element of dtype on the wire; 0 if dtype is unknown. */
size_t dp_proto_dtype_size(uint8_t dtype);

/* Name of dtype ("float32", "int32", "bfloat16", "float16"), or NULL. */
const char *dp_proto_dtype_name(uint8_t dtype);

/* Parse a dtype name as used in policies; returns the code or 0. */
uint8_t dp_proto_dtype_parse(const char *name);

/*
 * Why a datagram is not a well-formed daitn message: the codec's verdicts,
 * in the order the checks run. What a receiver does with them (the
 * gateway counts each under a drop reason of its own, dp_drop.h) is its
 * business.
 */
#define DP_PROTO_CHECK_FAILURES(Y, X)                                        \
	Y(X, SHORT, "short")                /* shorter than the header */    \
	Y(X, BAD_MAGIC, "bad_magic")                                          \
	Y(X, BAD_VERSION, "bad_version")                                      \
	Y(X, BAD_TYPE, "bad_type")                                            \
	Y(X, BAD_DTYPE, "bad_dtype")                                          \
	Y(X, BAD_FLAGS, "bad_flags")        /* reserved bits set */          \
	Y(X, BAD_COUNT, "bad_count")        /* zero, or over a chunk */      \
	Y(X, LENGTH_MISMATCH, "length_mismatch") /* payload size not the header's */

/* The list with OK first, as X(NAME, "name"). A receiver that keeps its own
 * list of reasons (the gateway's dp_drop.h) expands the failures into it
 * with DP_PROTO_CHECK_FAILURES(ITS_MACRO, X), so the two never drift. */
#define DP_PROTO_CHECK_ITEM_(X, name, str) X(name, str)
#define DP_PROTO_CHECK_LIST(X)                                               \
	X(OK, "ok")                                                           \
	DP_PROTO_CHECK_FAILURES(DP_PROTO_CHECK_ITEM_, X)

#define DP_PROTO_CHECK_ENUM_(name, str) DP_PROTO_CHECK_##name,
enum dp_proto_check {
	DP_PROTO_CHECK_LIST(DP_PROTO_CHECK_ENUM_)
	DP_PROTO_CHECKS
};
#undef DP_PROTO_CHECK_ENUM_

/* The verdict's name ("ok", "bad_magic"), or "invalid". */
const char *dp_proto_check_name(enum dp_proto_check c);

/*
 * Check a daitn header and its payload length, as received.
 * udp_payload points at the header, len is the UDP payload length in bytes.
 * On success returns DP_PROTO_CHECK_OK (0) and fills *out with the header
 * fields in host byte order; otherwise returns the verdict
 * (DP_PROTO_CHECK_*) and *out is undefined. Never reads beyond len bytes.
 *
 * Checks, in this order (the first failing one is the verdict):
 *   len < 22                         SHORT
 *   magic != DP_PROTO_MAGIC          BAD_MAGIC
 *   version != DP_PROTO_VERSION      BAD_VERSION
 *   type not GRAD..WAITING           BAD_TYPE
 *   dtype unknown (GRAD, RESULT, HELLO_ACK), or neither 0 nor known
 *   (HELLO, ERROR)                   BAD_DTYPE
 *   reserved flag bits set, or RANKS on another type than GRAD and RESULT
 *                                    BAD_FLAGS
 *   GRAD/RESULT: count 0 or count*size > DP_PROTO_CHUNK_SIZE_MAX;
 *   other types: count != 0          BAD_COUNT
 *   len != 22 + payload size (count*size for GRAD/RESULT, DP_PROTO_HELLO_PAD
 *   for HELLO and LEAVE,
 *   sizeof job_info for HELLO_ACK, DP_PROTO_ERROR_MIN .. sizeof error
 *   for ERROR, sizeof join_wait for HELLO_WAIT), plus the tag's 8 bytes
 *   with the AUTH flag
 *   (and the salt's 8 in a HELLO_ACK), plus with RANKS the trailer, sized
 *   by its n_workers (1 .. DP_PROTO_WORKERS_MAX; the payload's end)
 *                                    LENGTH_MISMATCH
 * The tag itself is checked by whoever holds the job's key (dp_auth.h).
 * Job-dependent checks (rank, slot range, the job's dtype and chunk size)
 * are the gateway's.
 */
enum dp_proto_check dp_proto_hdr_check(const void *udp_payload, size_t len,
				       struct dp_proto_hdr *out);

/* Where a message's payload starts: after the header, and its tag if any. */
static inline size_t dp_proto_payload_off(const struct dp_proto_hdr *h)
{
	return DP_PROTO_HDR_SIZE + ((h->flags & DP_PROTO_FLAG_AUTH) ? DP_PROTO_TAG_SIZE : 0);
}

/* Write hdr (host byte order) to dst in wire format. dst needs 22 bytes. */
void dp_proto_hdr_write(void *dst, const struct dp_proto_hdr *hdr);

/* The slot field's parts. */
static inline uint16_t dp_proto_slot_index(uint16_t slot)
{
	return slot & DP_PROTO_SLOT_INDEX_MASK;
}

static inline unsigned dp_proto_slot_set(uint16_t slot)
{
	return (slot & DP_PROTO_SLOT_SET_BIT) != 0;
}

static inline uint16_t dp_proto_slot_make(uint16_t index, unsigned set)
{
	return (uint16_t)((index & DP_PROTO_SLOT_INDEX_MASK) | (set ? DP_PROTO_SLOT_SET_BIT : 0));
}

/* Name of a message type ("grad", "result", ...), or NULL. */
const char *dp_proto_msg_name(uint8_t type);

/* HELLO_ACK payload: write ji (host order) to dst (wire), read it back. dst/src
 * hold sizeof(struct dp_proto_job_info) bytes. */
void dp_proto_job_info_write(void *dst, const struct dp_proto_job_info *ji);
void dp_proto_job_info_read(const void *src, struct dp_proto_job_info *ji);

/* HELLO_WAIT payload: the same, sizeof(struct dp_proto_join_wait) bytes. */
void dp_proto_join_wait_write(void *dst, const struct dp_proto_join_wait *w);
void dp_proto_join_wait_read(const void *src, struct dp_proto_join_wait *w);

/* Copy the NUL-terminated src into dst of size bytes (NUL included). Text
 * that does not fit is cut at a UTF-8 character boundary and ends with
 * "...", so a reader always sees that something is missing. Returns true if
 * it was cut. size >= 4. */
bool dp_proto_text_fit(char *dst, size_t size, const char *src);

/* ERROR payload: write code and text (at most 59 bytes; longer text is cut
 * by dp_proto_text_fit(), NUL-padded) to dst, 64 bytes; read back n of them
 * (DP_PROTO_ERROR_MIN .. 64: a shorter ERROR is that prefix of the layout,
 * the rest read as zeros; text always NUL-terminated). */
void dp_proto_error_write(void *dst, uint16_t code, const char *text);
void dp_proto_error_read(const void *src, size_t n, struct dp_proto_error *err);

/* Serial-number comparison of (round, offset) tags: <0, 0, >0 like memcmp.
 * Rounds compare modulo 2^32 (RFC 1982), offsets plainly. */
int dp_proto_tag_cmp(uint32_t round_a, uint32_t offset_a,
		     uint32_t round_b, uint32_t offset_b);

/* The same, inline, for per-packet paths (dp_proto_tag_cmp() calls it). The
 * distance exactly 2^31, undefined in RFC 1982, is broken by plain value so
 * that cmp(a, b) == -cmp(b, a) always holds. */
static inline int dp_proto_tag_cmp_inline(uint32_t round_a, uint32_t offset_a,
					  uint32_t round_b, uint32_t offset_b)
{
	uint32_t d = round_a - round_b;

	if (d == 0)
		return offset_a == offset_b ? 0 : offset_a > offset_b ? 1 : -1;
	if (d == 0x80000000u)
		return round_a > round_b ? 1 : -1;
	return d < 0x80000000u ? 1 : -1;
}

#endif /* DP_PROTO_H */
