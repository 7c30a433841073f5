/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Keyed tags (dp_auth.h). SipHash-2-4 as its authors specify it (Aumasson and
 * Bernstein, "SipHash: a fast short-input PRF", 2012): four 64-bit words of
 * state, two rounds per 8-byte block, four to finish, the message length in
 * the last block's top byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp_auth.h"
#include "dp_proto.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

struct sip {
	uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

/* A little-endian 64-bit word at p: one load on little-endian machines. */
static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void sip_init(struct sip *s, const uint64_t k[2])
{
	s->v0 = 0x736f6d6570736575ull ^ k[0];
	s->v1 = 0x646f72616e646f6dull ^ k[1];
	s->v2 = 0x6c7967656e657261ull ^ k[0];
	s->v3 = 0x7465646279746573ull ^ k[1];
}

static inline void sip_block(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

/* Absorb the whole 8-byte blocks of m[0..n); return how many bytes. */
static inline size_t sip_blocks(struct sip *s, const uint8_t *m, size_t n)
{
	size_t i;

	for (i = 0; i + 8 <= n; i += 8)
		sip_block(s, le64(m + i));
	return i;
}

/* The last block (tail bytes and the total length) and the finish. */
static inline uint64_t sip_final(struct sip *s, const uint8_t *tail, size_t n_tail,
				 size_t total)
{
	uint64_t b = (uint64_t)total << 56;

	for (size_t j = 0; j < n_tail; j++)
		b |= (uint64_t)tail[j] << (8 * j);
	sip_block(s, b);
	s->v2 ^= 0xff;
	for (int r = 0; r < 4; r++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t dp_auth_siphash(const uint64_t k[2], const void *m, size_t n)
{
	struct sip s;
	size_t done;

	sip_init(&s, k);
	done = sip_blocks(&s, m, n);
	return sip_final(&s, (const uint8_t *)m + done, n - done, n);
}

void dp_auth_key_set(struct dp_auth_key *key, const uint8_t bytes[DP_AUTH_KEY_SIZE],
		     enum dp_auth_cover cover)
{
	key->k[0] = le64(bytes);
	key->k[1] = le64(bytes + 8);
	key->cover = (uint8_t)cover;
}

/* The 32-byte prefix: context, header (rank zeroed in a RESULT), 2 zeros. */
#define PREFIX 32u

uint64_t dp_auth_tag(const struct dp_auth_key *key, uint64_t context, const void *hdr,
		     const void *payload, size_t n)
{
	uint8_t h[24] = { 0 };
	struct sip s;
	size_t done;

	/* The prefix as four words: context, then the header and 2 zeros. */
	memcpy(h, hdr, DP_PROTO_HDR_SIZE);
	if (h[3] == DP_MSG_RESULT) {
		h[6] = 0;
		h[7] = 0;
	}
	sip_init(&s, key->k);
	sip_block(&s, context);
	sip_block(&s, le64(h));
	sip_block(&s, le64(h + 8));
	sip_block(&s, le64(h + 16));
	if (n == 0 || (key->cover == DP_AUTH_COVER_HEADER &&
		       (h[3] == DP_MSG_GRAD || h[3] == DP_MSG_RESULT)))
		return sip_final(&s, NULL, 0, PREFIX);
	done = sip_blocks(&s, payload, n);
	return sip_final(&s, (const uint8_t *)payload + done, n - done, PREFIX + n);
}

void dp_auth_tag_write(void *dst, uint64_t tag)
{
	uint8_t *d = dst;

	for (int i = 0; i < 8; i++)
		d[i] = (uint8_t)(tag >> (8 * i));
}

uint64_t dp_auth_tag_read(const void *src)
{
	return le64(src);
}

bool dp_auth_check(const struct dp_auth_key *key, uint64_t context, const void *hdr,
		   const void *tag_at, const void *payload, size_t n)
{
	/* No early exit on the first differing bit. */
	return (dp_auth_tag(key, context, hdr, payload, n) ^ dp_auth_tag_read(tag_at)) == 0;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dp_auth_key_parse(const char *text, size_t len, uint8_t out[DP_AUTH_KEY_SIZE])
{
	uint8_t key[DP_AUTH_KEY_SIZE];

	if (len == 2 * DP_AUTH_KEY_SIZE + 1 && text[len - 1] == '\n')
		len--;
	if (len != 2 * DP_AUTH_KEY_SIZE)
		return -EINVAL;
	for (size_t i = 0; i < DP_AUTH_KEY_SIZE; i++) {
		int hi = hex_val(text[2 * i]), lo = hex_val(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, key, sizeof(key));
	memset(key, 0, sizeof(key));
	return 0;
}

int dp_auth_key_file_read(const char *path, uint8_t out[DP_AUTH_KEY_SIZE], char *err,
			  size_t err_size)
{
	char text[2 * DP_AUTH_KEY_SIZE + 2];
	struct stat st;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_size, "key file %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "key file %s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, err_size, "key file %s: group or others may access it (mode %04o); "
			 "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		rc = -EPERM;
		goto out;
	}
	n = read(fd, text, sizeof(text));
	if (n < 0 || dp_auth_key_parse(text, (size_t)n, out) != 0) {
		snprintf(err, err_size, "key file %s: want 32 hexadecimal digits (a 128-bit key), "
			 "e.g. from: od -An -tx1 -N16 /dev/urandom | tr -d ' \\n'", path);
		rc = -EINVAL;
		goto out;
	}
	rc = 0;
out:
	memset(text, 0, sizeof(text));
	close(fd);
	return rc;
}
