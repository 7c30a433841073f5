/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_auth: the keyed tags of authenticated jobs (docs/protocol.md, section 11;
 * docs/security.md, section 2). No DPDK; the gateway and libdaitn both use it.
 *
 * A message of a job with a key carries DP_PROTO_FLAG_AUTH and, right after
 * its 22-byte header, an 8-byte tag: SipHash-2-4 under the job's 128-bit key
 * of
 *
 *   context (8 bytes, little-endian) || header (22 bytes as sent, the rank
 *   field zeroed in a RESULT) || 2 zero bytes || payload (when covered)
 *
 * The context is the run's salt (from HELLO_ACK) for GRAD and RESULT, 0 for
 * the join messages. A RESULT's tag does not depend on the rank: every
 * copy of a result carries the same one, computed once. A job whose tags
 * cover the header only (DP_AUTH_COVER_HEADER, announced in HELLO_ACK) still
 * covers the whole of its join messages: only GRAD and RESULT payloads are
 * left out.
 *
 * Every function is pure and thread-safe; none allocates.
 */
#ifndef DP_AUTH_H
#define DP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_AUTH_KEY_SIZE 16u
#define DP_AUTH_TAG_SIZE 8u

/* What a tag covers. */
enum dp_auth_cover {
	DP_AUTH_COVER_PAYLOAD = 0,      /* header and payload (the default) */
	DP_AUTH_COVER_HEADER = 1,       /* header only: cheaper, see security.md */
};

struct dp_auth_key {
	uint64_t k[2];                  /* the key's bytes as two little-endian words */
	uint8_t cover;                  /* enum dp_auth_cover */
};

/* SipHash-2-4 of m[0..n) under k (the reference function, for tests). */
uint64_t dp_auth_siphash(const uint64_t k[2], const void *m, size_t n);

/* Set key from DP_AUTH_KEY_SIZE bytes and a cover. */
void dp_auth_key_set(struct dp_auth_key *key, const uint8_t bytes[DP_AUTH_KEY_SIZE],
		     enum dp_auth_cover cover);

/* The tag of a message: hdr is its 22-byte wire header (AUTH flag set),
 * payload its n payload bytes (a GRAD's or RESULT's are read only when the
 * key covers them). */
uint64_t dp_auth_tag(const struct dp_auth_key *key, uint64_t context, const void *hdr,
		     const void *payload, size_t n);

/* Write / read a tag at dst / src (8 bytes, little-endian). */
void dp_auth_tag_write(void *dst, uint64_t tag);
uint64_t dp_auth_tag_read(const void *src);

/* True if the tag at tag_at is the message's, compared in constant time. */
bool dp_auth_check(const struct dp_auth_key *key, uint64_t context, const void *hdr,
		   const void *tag_at, const void *payload, size_t n);

/*
 * Read a key file: 32 hexadecimal digits (either case), optionally followed
 * by one newline. Refused: a file that is not a regular file, or that its
 * group or others may read or write (the error says how to fix it). Returns
 * 0, or a negative errno with err (a sentence naming the file) set.
 */
int dp_auth_key_file_read(const char *path, uint8_t out[DP_AUTH_KEY_SIZE], char *err,
			  size_t err_size);

/* Parse the text of a key file (the same rule, without the file). 0 or -EINVAL. */
int dp_auth_key_parse(const char *text, size_t len, uint8_t out[DP_AUTH_KEY_SIZE]);

#endif /* DP_AUTH_H */
