/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_auth: SipHash-2-4 against the published vectors (key 00..0f,
 * message 00..n-1), tags that change with every byte they cover and with
 * nothing else, RESULT tags shared by every rank, key files and their
 * permissions, and the header check's lengths with the AUTH flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "dp_auth.h"
#include "dp_proto.h"

static struct dp_auth_key key_of(enum dp_auth_cover cover)
{
	uint8_t b[DP_AUTH_KEY_SIZE];
	struct dp_auth_key k;

	for (unsigned i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	dp_auth_key_set(&k, b, cover);
	return k;
}

static void test_siphash_matches_the_reference_vectors(void)
{
	static const struct { size_t n; uint64_t want; } v[] = {
		{ 0, 0x726fdb47dd0e0e31ull }, { 1, 0x74f839c593dc67fdull },
		{ 8, 0x93f5f5799a932462ull }, { 15, 0xa129ca6149be45e5ull },
	};
	struct dp_auth_key k = key_of(DP_AUTH_COVER_PAYLOAD);
	uint8_t m[64];

	for (unsigned i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CU_ASSERT_EQUAL(dp_auth_siphash(k.k, m, v[i].n), v[i].want);
}

static void grad_hdr(uint8_t out[DP_PROTO_HDR_SIZE], uint8_t type, uint16_t rank)
{
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = type, .job = 3,
		.rank = rank, .slot = 5, .dtype = DP_DTYPE_F32, .flags = DP_PROTO_FLAG_AUTH,
		.count = 4, .offset = 1024, .round = 77,
	};

	dp_proto_hdr_write(out, &h);
}

/* Every covered byte changes the tag; the payload only when covered. */
static void test_tag_covers_context_header_and_payload(void)
{
	struct dp_auth_key full = key_of(DP_AUTH_COVER_PAYLOAD), head = key_of(DP_AUTH_COVER_HEADER);
	uint8_t h[DP_PROTO_HDR_SIZE], p[16] = { 1, 2, 3 }, tag[DP_AUTH_TAG_SIZE];
	uint64_t t;

	grad_hdr(h, DP_MSG_GRAD, 2);
	t = dp_auth_tag(&full, 42, h, p, sizeof(p));
	dp_auth_tag_write(tag, t);
	CU_ASSERT_TRUE(dp_auth_check(&full, 42, h, tag, p, sizeof(p)));
	CU_ASSERT_FALSE(dp_auth_check(&full, 43, h, tag, p, sizeof(p)));
	for (unsigned i = 0; i < sizeof(h); i++) {
		h[i] ^= 0x01;
		CU_ASSERT_FALSE(dp_auth_check(&full, 42, h, tag, p, sizeof(p)));
		h[i] ^= 0x01;
	}
	for (unsigned i = 0; i < sizeof(p); i++) {
		p[i] ^= 0x80;
		CU_ASSERT_FALSE(dp_auth_check(&full, 42, h, tag, p, sizeof(p)));
		p[i] ^= 0x80;
	}
	CU_ASSERT_FALSE(dp_auth_check(&full, 42, h, tag, p, sizeof(p) - 1));
	for (unsigned i = 0; i < sizeof(tag); i++) {
		tag[i] ^= 0x01;
		CU_ASSERT_FALSE(dp_auth_check(&full, 42, h, tag, p, sizeof(p)));
		tag[i] ^= 0x01;
	}
	/* Another key. */
	full.k[1] ^= 1;
	CU_ASSERT_FALSE(dp_auth_check(&full, 42, h, tag, p, sizeof(p)));

	/* Header only: the payload is not read. */
	dp_auth_tag_write(tag, dp_auth_tag(&head, 42, h, p, sizeof(p)));
	p[0] ^= 0xff;
	CU_ASSERT_TRUE(dp_auth_check(&head, 42, h, tag, p, sizeof(p)));
	CU_ASSERT_TRUE(dp_auth_check(&head, 42, h, tag, NULL, 0));
	h[20] ^= 1;
	CU_ASSERT_FALSE(dp_auth_check(&head, 42, h, tag, p, sizeof(p)));
}

/* A result's tag is the same for every rank; a GRAD's is not. */
static void test_result_tag_is_shared_by_every_rank(void)
{
	struct dp_auth_key k = key_of(DP_AUTH_COVER_PAYLOAD);
	uint8_t a[DP_PROTO_HDR_SIZE], b[DP_PROTO_HDR_SIZE], p[8] = { 9 };

	grad_hdr(a, DP_MSG_RESULT, 0);
	grad_hdr(b, DP_MSG_RESULT, 7);
	CU_ASSERT_EQUAL(dp_auth_tag(&k, 5, a, p, sizeof(p)), dp_auth_tag(&k, 5, b, p, sizeof(p)));
	grad_hdr(a, DP_MSG_GRAD, 0);
	grad_hdr(b, DP_MSG_GRAD, 7);
	CU_ASSERT_NOT_EQUAL(dp_auth_tag(&k, 5, a, p, sizeof(p)), dp_auth_tag(&k, 5, b, p, sizeof(p)));
}

static void test_key_text_is_32_hex_digits(void)
{
	uint8_t k[DP_AUTH_KEY_SIZE];
	static const char good[] = "000102030405060708090a0B0c0d0e0f\n";

	CU_ASSERT_EQUAL(dp_auth_key_parse(good, strlen(good), k), 0);
	CU_ASSERT_EQUAL(k[11], 0x0b);
	CU_ASSERT_EQUAL(dp_auth_key_parse(good, 32, k), 0);
	CU_ASSERT_EQUAL(dp_auth_key_parse(good, 31, k), -EINVAL);
	CU_ASSERT_EQUAL(dp_auth_key_parse("000102030405060708090a0b0c0d0e0g", 32, k), -EINVAL);
	CU_ASSERT_EQUAL(dp_auth_key_parse("000102030405060708090a0b0c0d0e0f0", 33, k), -EINVAL);
	CU_ASSERT_EQUAL(dp_auth_key_parse("000102030405060708090a0b0c0d0e0f\n\n", 34, k), -EINVAL);
}

static void test_key_file_readable_by_others_is_refused(void)
{
	char path[] = "/tmp/dp_auth_keyXXXXXX", err[256];
	uint8_t k[DP_AUTH_KEY_SIZE];
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "ffeeddccbbaa99887766554433221100\n", 33), 33);
	close(fd);
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(dp_auth_key_file_read(path, k, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(k[0], 0xff);
	CU_ASSERT_EQUAL(chmod(path, 0640), 0);
	CU_ASSERT_EQUAL(dp_auth_key_file_read(path, k, err, sizeof(err)), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "chmod 600"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	unlink(path);
	CU_ASSERT_EQUAL(dp_auth_key_file_read(path, k, err, sizeof(err)), -ENOENT);
	CU_ASSERT_EQUAL(dp_auth_key_file_read("/tmp", k, err, sizeof(err)), -EINVAL);
}

/* With the AUTH flag every message is 8 bytes longer (a HELLO_ACK 16). */
static void test_header_check_counts_the_tag(void)
{
	uint8_t buf[DP_PROTO_HDR_SIZE + 64 + 16] = { 0 };
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_GRAD, .job = 1,
		.dtype = DP_DTYPE_F32, .flags = DP_PROTO_FLAG_AUTH, .count = 4,
	}, out;

	dp_proto_hdr_write(buf, &h);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, DP_PROTO_HDR_SIZE + 16 + 8, &out), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(dp_proto_payload_off(&out), DP_PROTO_HDR_SIZE + DP_PROTO_TAG_SIZE);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, DP_PROTO_HDR_SIZE + 16, &out),
			DP_PROTO_CHECK_LENGTH_MISMATCH);
	h.type = DP_MSG_HELLO_ACK;
	h.count = 0;
	dp_proto_hdr_write(buf, &h);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, DP_PROTO_HDR_SIZE + 20 + 16, &out), DP_PROTO_CHECK_OK);
	h.flags = 0x20;
	dp_proto_hdr_write(buf, &h);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, DP_PROTO_HDR_SIZE + 20, &out),
			DP_PROTO_CHECK_BAD_FLAGS);
}

int main(void)
{
	static CU_TestInfo tests[] = {
		{ "siphash_matches_the_reference_vectors", test_siphash_matches_the_reference_vectors },
		{ "tag_covers_context_header_and_payload", test_tag_covers_context_header_and_payload },
		{ "result_tag_is_shared_by_every_rank", test_result_tag_is_shared_by_every_rank },
		{ "key_text_is_32_hex_digits", test_key_text_is_32_hex_digits },
		{ "key_file_readable_by_others_is_refused", test_key_file_readable_by_others_is_refused },
		{ "header_check_counts_the_tag", test_header_check_counts_the_tag },
		CU_TEST_INFO_NULL,
	};
	return tu_main("dp_auth", tests);
}
