/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wk_sha256: SHA-256 (FIPS 180-4) for daitn-worker's --digest, so that two
 * runs of a job can be compared bit for bit. Not a security primitive here:
 * only a fingerprint of result buffers.
 *
 * A context belongs to one thread at a time; there is no shared state. Use:
 * wk_sha256_init(), any number of wk_sha256_update() calls with pieces of any
 * size (the digest depends only on the concatenated bytes), wk_sha256_final().
 * After final the context must be initialised again before reuse.
 */
#ifndef WK_SHA256_H
#define WK_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define WK_SHA256_SIZE 32        /* bytes of a digest */
#define WK_SHA256_HEX_SIZE 65    /* bytes of its lowercase hex text with the NUL */

struct wk_sha256 {
	uint32_t h[8];           /* the hash value H(i) */
	uint64_t size;           /* bytes hashed so far */
	uint8_t block[64];       /* the partial block not yet compressed */
	size_t fill;             /* bytes used in block, 0 .. 63 */
};

/* Start a new message. */
void wk_sha256_init(struct wk_sha256 *c);

/* Append size bytes at data (data may be NULL when size is 0). Messages up to
 * 2^61 - 1 bytes, the FIPS 180-4 limit of 2^64 - 1 bits. */
void wk_sha256_update(struct wk_sha256 *c, const void *data, size_t size);

/* Pad, and write the digest of everything appended since init to out. */
void wk_sha256_final(struct wk_sha256 *c, uint8_t out[WK_SHA256_SIZE]);

/* Write digest as 64 lowercase hex digits and a NUL to hex. */
void wk_sha256_hex(const uint8_t digest[WK_SHA256_SIZE], char hex[WK_SHA256_HEX_SIZE]);

/* The lowercase hex SHA-256 of size bytes at data, in one call. */
void wk_sha256_hex_of(const void *data, size_t size, char hex[WK_SHA256_HEX_SIZE]);

#endif /* WK_SHA256_H */
