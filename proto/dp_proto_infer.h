/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_proto_infer: inference activation messages of the daitn wire protocol,
 * version 1 (message types 16..31, reserved for inference in dp_proto.h).
 * Specified in docs/inference.md ("Activation messages").
 *
 * Pure functions without state or DPDK dependency: any thread may call them.
 *
 * Frame layout, as for every daitn message:
 *
 *     Ethernet (14) | IPv4 (20) | UDP (8) | dp_infer_hdr (22) | payload
 *
 * so the payload starts 64 bytes into the frame, on a cache line. The header
 * shares its first four bytes (magic, version, type) with struct dp_proto_hdr,
 * so a receiver reads the type at offset 3 and dispatches on it.
 *
 * Flow of one request through a model with stages 0 .. n-1:
 *
 *   requester --ACT(stage 0)--> gw --ACT(stage 0)--> replica of stage 0
 *   stage 0   --ACT(stage 1)--> gw --ACT(stage 1)--> replica of stage 1
 *   ...
 *   stage n-1 --ACT(stage n)--> gw --RESULT(stage n)--> requester
 *
 * "stage" always names the stage that must process the payload next; a stage
 * node answers with stage + 1 and copies every other header field. On stage 0
 * the gateway overwrites reply_ip/reply_port with the requester's source
 * address; later hops carry them unchanged, so the gateway needs no per-request
 * state to send the RESULT (or an ERROR) back.
 *
 * Byte order: header fields big-endian. The payload is opaque to the gateway
 * (daitn-infer uses little-endian float32 elements).
 */
#ifndef DP_PROTO_INFER_H
#define DP_PROTO_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_INFER_HDR_SIZE 22u

/* Payload bytes per message: 1 .. 8 KiB (one fragment; same bound as a chunk). */
#define DP_INFER_PAYLOAD_MAX 8192u

/* flags: bits 0..3 a priority hint (0 = none, 1 = most urgent, 15 = least);
 * bit 4: an 8-byte tag follows the header (a model with a key, dp_auth.h;
 * docs/protocol.md section 11); bits 5..7 reserved, must be zero. */
#define DP_INFER_FLAG_PRIO_MASK 0x0fu
#define DP_INFER_FLAG_AUTH 0x10u
#define DP_INFER_FLAG_RESERVED_MASK 0xe0u

/* Message types 16..31 are inference messages. */
#define DP_INFER_MSG_FIRST 16u
#define DP_INFER_MSG_LAST 31u

enum dp_infer_msg {
	DP_MSG_INFER_ACT = 16,    /* activation: to and from the gateway */
	DP_MSG_INFER_RESULT = 17, /* gw -> requester: the last stage's output */
	DP_MSG_INFER_ERROR = 18,  /* gw -> requester: payload struct dp_infer_error */
	DP_MSG_INFER_BEAT = 19,   /* stage node -> gw: "replica (model, stage) at
				     this ip:port is alive"; no payload, sent
				     periodically from the replica's port */
};

struct dp_infer_hdr {
	uint16_t magic;      /* DP_PROTO_MAGIC */
	uint8_t version;     /* DP_PROTO_VERSION */
	uint8_t type;        /* enum dp_infer_msg */
	uint16_t model;      /* model id from the policy */
	uint8_t stage;       /* stage that processes this payload next */
	uint8_t flags;       /* DP_INFER_FLAG_* */
	uint32_t session;    /* chosen by the requester; the affinity key */
	uint16_t request;    /* request number within the session (wraps) */
	uint8_t frag;        /* fragment index, 0 .. n_frags-1 */
	uint8_t n_frags;     /* fragments of this request's activation, >= 1 */
	uint32_t reply_ip;   /* requester's IPv4 address (set by the gateway) */
	uint16_t reply_port; /* requester's UDP port (set by the gateway) */
} __attribute__((packed));

_Static_assert(sizeof(struct dp_infer_hdr) == DP_INFER_HDR_SIZE, "infer header size");

enum dp_infer_err {
	DP_INFER_ERR_NO_REPLICA = 1,    /* every replica of (model, stage) is down */
	DP_INFER_ERR_UNKNOWN_MODEL = 2, /* no such model in the running policy */
	DP_INFER_ERR_BAD_STAGE = 3,     /* stage beyond the model's last + 1 */
	DP_INFER_ERR_OVERLOADED = 4,    /* queue full or rate-limited */
};

/* ERROR payload: 64 bytes; code, model and stage big-endian. The header of an
 * ERROR repeats the session, request and fragment of the message refused. */
struct dp_infer_error {
	uint16_t code;       /* enum dp_infer_err */
	uint16_t model;
	uint8_t stage;       /* the stage that could not be served */
	uint8_t reserved[3];
	char text[56];       /* NUL-terminated, for logs */
} __attribute__((packed));

_Static_assert(sizeof(struct dp_infer_error) == 64, "infer error size");

/* True for the message types this header covers (16..31). */
static inline bool
dp_proto_infer_is_infer(uint8_t type)
{
	return type >= DP_INFER_MSG_FIRST && type <= DP_INFER_MSG_LAST;
}

/*
 * Check an inference message as received: udp_payload points at the header,
 * len is the UDP payload length in bytes. On success returns
 * DP_PROTO_CHECK_OK (0) and fills *out with the header in host byte order;
 * otherwise returns the verdict (dp_proto.h) and *out is undefined. Never
 * reads beyond len bytes.
 *   SHORT                  len < 22
 *   BAD_MAGIC / BAD_VERSION
 *   BAD_TYPE               not ACT, RESULT, ERROR or BEAT (20..31 unassigned)
 *   BAD_FLAGS              reserved flag bits set
 *   BAD_COUNT              n_frags == 0 or frag >= n_frags
 *   LENGTH_MISMATCH        ACT/RESULT payload empty or over 8 KiB;
 *                          ERROR payload not exactly 64 bytes; BEAT payload
 *                          not empty (the payload follows the tag, with the
 *                          AUTH flag)
 * Whether the type is acceptable from this sender (a RESULT sent to the
 * gateway, say) is the caller's decision.
 */
enum dp_proto_check dp_proto_infer_check(const void *udp_payload, size_t len,
					 struct dp_infer_hdr *out);

/* Write hdr (host byte order) to dst in wire format. dst needs 22 bytes. */
void dp_proto_infer_write(void *dst, const struct dp_infer_hdr *hdr);

/* Where the payload starts: after the header, and the tag if any. */
static inline size_t
dp_proto_infer_payload_off(const struct dp_infer_hdr *h)
{
	return DP_INFER_HDR_SIZE + ((h->flags & DP_INFER_FLAG_AUTH) ? 8u : 0u);
}

/* Fill an ERROR payload (wire format) at dst, 64 bytes; text is truncated. */
void dp_proto_infer_error_write(void *dst, uint16_t code, uint16_t model,
				uint8_t stage, const char *text);

/* Parse an ERROR payload of len bytes; 0 or -EINVAL if len is not 64. */
int dp_proto_infer_error_read(const void *src, size_t len, struct dp_infer_error *out);

/* Name of an error code ("no_replica", ...), or "unknown". */
const char *dp_proto_infer_err_name(uint16_t code);

#endif /* DP_PROTO_INFER_H */
