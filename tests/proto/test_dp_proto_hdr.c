/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite dp_proto_hdr: every malformed daitn header is refused under its own
 * drop reason, and the check never reads past the length it was given (each
 * case runs on a heap copy of exactly len bytes, so ASan sees any overread).
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "dp_proto.h"

static uint64_t counters[DP_PROTO_CHECKS];

/* Run the check on an exact-size heap copy and count the fate. */
static enum dp_proto_check check_exact(const uint8_t *frame, size_t len, struct dp_proto_hdr *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum dp_proto_check d;

	memcpy(copy, frame, len);
	d = dp_proto_hdr_check(copy, len, out);
	free(copy);
	counters[d]++;
	return d;
}

static size_t build(uint8_t *buf, uint8_t type, uint8_t dtype, uint16_t count)
{
	struct dp_proto_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = type,
		.job = 7, .rank = 3, .slot = dp_proto_slot_make(5, 1), .dtype = dtype,
		.flags = 2, .count = count, .offset = 1024, .round = 99,
	};
	size_t payload = 0;

	dp_proto_hdr_write(buf, &h);
	if (type == DP_MSG_GRAD || type == DP_MSG_RESULT)
		payload = count * dp_proto_dtype_size(dtype);
	else if (type == DP_MSG_HELLO_ACK)
		payload = sizeof(struct dp_proto_job_info);
	else if (type == DP_MSG_ERROR)
		payload = sizeof(struct dp_proto_error);
	else if (type == DP_MSG_HELLO_WAIT)
		payload = sizeof(struct dp_proto_join_wait);
	else if (type == DP_MSG_HELLO || type == DP_MSG_LEAVE)
		payload = DP_PROTO_HELLO_PAD;
	memset(buf + DP_PROTO_HDR_SIZE, 0x5a, payload);
	return DP_PROTO_HDR_SIZE + payload;
}

static void reset(void)
{
	memset(counters, 0, sizeof(counters));
}

static void test_short_header_is_dropped(void)
{
	uint8_t buf[DP_PROTO_HDR_SIZE + DP_PROTO_HELLO_PAD];
	struct dp_proto_hdr h;

	build(buf, DP_MSG_HELLO, 0, 0);
	for (size_t len = 0; len < DP_PROTO_HDR_SIZE; len++)
		CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_SHORT);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_SHORT], DP_PROTO_HDR_SIZE);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_OK], 0);
}

static void test_bad_magic_is_dropped(void)
{
	uint8_t buf[2048];
	struct dp_proto_hdr h;
	size_t len = build(buf, DP_MSG_GRAD, DP_DTYPE_F32, 16);

	buf[0] ^= 0x01;
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_MAGIC);
	buf[0] ^= 0x01;
	buf[1] = 0x00;
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_MAGIC);
	/* A byte-swapped magic is not accepted either. */
	buf[0] = 0x17;
	buf[1] = 0xda;
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_MAGIC);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_MAGIC], 3);
}

static void test_bad_version_is_dropped(void)
{
	uint8_t buf[2048];
	struct dp_proto_hdr h;
	size_t len = build(buf, DP_MSG_GRAD, DP_DTYPE_F32, 16);

	buf[2] = 0;
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_VERSION);
	buf[2] = 1;     /* version 1 had no runs (docs/protocol.md section 9) */
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_VERSION);
	buf[2] = 3;
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_VERSION);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_VERSION], 3);
}

static void test_bad_type_is_dropped(void)
{
	static const uint8_t bad[] = { 0, 9, 15, 16, 31, 255 };   /* 8 is WAITING */
	uint8_t buf[2048];
	struct dp_proto_hdr h;
	size_t len = build(buf, DP_MSG_GRAD, DP_DTYPE_F32, 16);

	for (size_t i = 0; i < sizeof(bad); i++) {
		buf[3] = bad[i];
		CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_TYPE);
	}
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_TYPE], sizeof(bad));
}

static void test_bad_dtype_is_dropped(void)
{
	uint8_t buf[2048];
	struct dp_proto_hdr h;
	size_t len = build(buf, DP_MSG_GRAD, DP_DTYPE_F32, 16);

	buf[10] = 0;   /* a GRAD must say its type */
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_DTYPE);
	buf[10] = 5;
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_DTYPE);
	len = build(buf, DP_MSG_HELLO, 9, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_DTYPE);
	len = build(buf, DP_MSG_HELLO_ACK, 0, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_DTYPE);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_DTYPE], 4);
}

static void test_reserved_flags_are_dropped(void)
{
	uint8_t buf[2048];
	struct dp_proto_hdr h;
	size_t len = build(buf, DP_MSG_GRAD, DP_DTYPE_F32, 16);

	/* Bit 4 is DP_PROTO_FLAG_AUTH (test_dp_auth.c), bit 5 RANKS (the
	 * trailer's tests); 6 and 7 are reserved. */
	for (unsigned bit = 6; bit < 8; bit++) {
		buf[11] = (uint8_t)(1u << bit);
		CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_FLAGS);
	}
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_FLAGS], 2);
}

static void test_bad_count_is_dropped(void)
{
	uint8_t buf[DP_PROTO_HDR_SIZE + DP_PROTO_CHUNK_SIZE_MAX + 8];
	struct dp_proto_hdr h;
	size_t len;

	len = build(buf, DP_MSG_GRAD, DP_DTYPE_F32, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_COUNT);
	/* One element over the largest chunk, with the payload really there. */
	len = build(buf, DP_MSG_GRAD, DP_DTYPE_BF16, DP_PROTO_CHUNK_SIZE_MAX / 2);
	buf[12] = (DP_PROTO_CHUNK_SIZE_MAX / 2 + 1) >> 8;
	buf[13] = (DP_PROTO_CHUNK_SIZE_MAX / 2 + 1) & 0xff;
	CU_ASSERT_EQUAL(check_exact(buf, len + 2, &h), DP_PROTO_CHECK_BAD_COUNT);
	/* 0xffff elements claimed in a short datagram: refused on count, not read. */
	len = build(buf, DP_MSG_RESULT, DP_DTYPE_F32, 4);
	buf[12] = buf[13] = 0xff;
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_COUNT);
	len = build(buf, DP_MSG_HELLO, 0, 1);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_COUNT);
	len = build(buf, DP_MSG_ERROR, 0, 2);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_COUNT);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_BAD_COUNT], 5);
}

static void test_length_mismatch_is_dropped(void)
{
	uint8_t buf[2048];
	struct dp_proto_hdr h;
	size_t len;

	len = build(buf, DP_MSG_GRAD, DP_DTYPE_F32, 256);
	CU_ASSERT_EQUAL(check_exact(buf, len - 1, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(check_exact(buf, len + 1, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(check_exact(buf, DP_PROTO_HDR_SIZE, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	len = build(buf, DP_MSG_HELLO, 0, 0);
	CU_ASSERT_EQUAL(len, DP_PROTO_HDR_SIZE + DP_PROTO_HELLO_PAD);
	CU_ASSERT_EQUAL(check_exact(buf, len + 1, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	/* A HELLO without its padding could draw a larger answer: refused. */
	CU_ASSERT_EQUAL(check_exact(buf, DP_PROTO_HDR_SIZE, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	len = build(buf, DP_MSG_LEAVE, 0, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len - 1, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	len = build(buf, DP_MSG_HELLO_ACK, DP_DTYPE_I32, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len - 4, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	/* An ERROR may be cut to any prefix holding its code (the answer to a
	 * small GRAD), never longer than the whole. */
	len = build(buf, DP_MSG_ERROR, 0, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len + 1, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(check_exact(buf, DP_PROTO_HDR_SIZE + 1, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_LENGTH_MISMATCH], 9);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_OK], 0);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, DP_PROTO_HDR_SIZE + DP_PROTO_ERROR_MIN, &h),
			DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len - 1, &h), DP_PROTO_CHECK_OK);
}

static void test_valid_messages_pass_with_host_order_fields(void)
{
	uint8_t buf[DP_PROTO_HDR_SIZE + DP_PROTO_CHUNK_SIZE_MAX];
	struct dp_proto_hdr h;
	size_t len;

	len = build(buf, DP_MSG_GRAD, DP_DTYPE_F32, 256);
	CU_ASSERT_EQUAL(len, DP_PROTO_HDR_SIZE + 1024);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(h.magic, DP_PROTO_MAGIC);
	CU_ASSERT_EQUAL(h.type, DP_MSG_GRAD);
	CU_ASSERT_EQUAL(h.job, 7);
	CU_ASSERT_EQUAL(h.rank, 3);
	CU_ASSERT_EQUAL(dp_proto_slot_index(h.slot), 5);
	CU_ASSERT_EQUAL(dp_proto_slot_set(h.slot), 1);
	CU_ASSERT_EQUAL(h.dtype, DP_DTYPE_F32);
	CU_ASSERT_EQUAL(h.flags, 2);
	CU_ASSERT_EQUAL(h.count, 256);
	CU_ASSERT_EQUAL(h.offset, 1024);
	CU_ASSERT_EQUAL(h.round, 99);
	/* Big-endian on the wire: magic DA 17, slot 80 05, round 00 00 00 63. */
	CU_ASSERT_EQUAL(buf[0], 0xda);
	CU_ASSERT_EQUAL(buf[1], 0x17);
	CU_ASSERT_EQUAL(buf[8], 0x80);
	CU_ASSERT_EQUAL(buf[9], 0x05);
	CU_ASSERT_EQUAL(buf[21], 0x63);

	len = build(buf, DP_MSG_GRAD, DP_DTYPE_F16, DP_PROTO_CHUNK_SIZE_MAX / 2);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_OK);
	len = build(buf, DP_MSG_RESULT, DP_DTYPE_I32, 1);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_OK);
	len = build(buf, DP_MSG_HELLO, 0, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_OK);
	len = build(buf, DP_MSG_HELLO, DP_DTYPE_BF16, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_OK);
	len = build(buf, DP_MSG_HELLO_ACK, DP_DTYPE_BF16, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_OK);
	len = build(buf, DP_MSG_ERROR, 0, 0);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(counters[DP_PROTO_CHECK_OK], 7);
}

static void test_tag_order_is_serial_on_rounds(void)
{
	CU_ASSERT_EQUAL(dp_proto_tag_cmp(5, 100, 5, 100), 0);
	CU_ASSERT(dp_proto_tag_cmp(5, 200, 5, 100) > 0);
	CU_ASSERT(dp_proto_tag_cmp(5, 100, 5, 200) < 0);
	CU_ASSERT(dp_proto_tag_cmp(6, 0, 5, 4000000) > 0);
	CU_ASSERT(dp_proto_tag_cmp(4, 4000000, 5, 0) < 0);
	/* Wrap-around: round 0 follows round 0xffffffff. */
	CU_ASSERT(dp_proto_tag_cmp(0, 0, 0xffffffffu, 500) > 0);
	CU_ASSERT(dp_proto_tag_cmp(0xffffffffu, 500, 0, 0) < 0);
	CU_ASSERT(dp_proto_tag_cmp(0x7fffffffu, 0, 0, 0) > 0);
	/* Distance 2^31 is undefined in RFC 1982; the order stays antisymmetric. */
	CU_ASSERT_EQUAL(dp_proto_tag_cmp(0x80000000u, 0, 0, 0),
			-dp_proto_tag_cmp(0, 0, 0x80000000u, 0));
	CU_ASSERT_EQUAL(dp_proto_tag_cmp(0x80000005u, 0, 5, 0),
			-dp_proto_tag_cmp(5, 0, 0x80000005u, 0));
}

static void test_dtype_helpers_and_fate_names(void)
{
	CU_ASSERT_EQUAL(dp_proto_dtype_size(0), 0);
	CU_ASSERT_EQUAL(dp_proto_dtype_size(5), 0);
	CU_ASSERT_EQUAL(dp_proto_dtype_size(255), 0);
	CU_ASSERT_PTR_NULL(dp_proto_dtype_name(0));
	CU_ASSERT_PTR_NULL(dp_proto_dtype_name(200));
	CU_ASSERT_EQUAL(dp_proto_dtype_parse("float64"), 0);
	CU_ASSERT_EQUAL(dp_proto_dtype_parse(NULL), 0);
	CU_ASSERT_EQUAL(dp_proto_dtype_parse(""), 0);
	for (uint8_t t = DP_DTYPE_F32; t <= DP_DTYPE_F16; t++) {
		CU_ASSERT_EQUAL(dp_proto_dtype_parse(dp_proto_dtype_name(t)), t);
		CU_ASSERT_EQUAL(dp_proto_dtype_size(t), t <= DP_DTYPE_I32 ? 4 : 2);
	}
	CU_ASSERT_STRING_EQUAL(dp_proto_check_name(DP_PROTO_CHECK_BAD_MAGIC), "bad_magic");
	CU_ASSERT_STRING_EQUAL(dp_proto_check_name(DP_PROTO_CHECKS), "invalid");
	for (int a = 0; a < DP_PROTO_CHECKS; a++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(dp_proto_check_name(a));
		for (int b = a + 1; b < DP_PROTO_CHECKS; b++)
			CU_ASSERT(strcmp(dp_proto_check_name(a), dp_proto_check_name(b)) != 0);
	}
	CU_ASSERT_STRING_EQUAL(dp_proto_msg_name(DP_MSG_HELLO_ACK), "hello_ack");
	CU_ASSERT_PTR_NULL(dp_proto_msg_name(0));
}

static void test_job_info_and_error_round_trip(void)
{
	struct dp_proto_job_info ji = {
		.n_workers = 300, .chunk_size = 1024, .n_slots = 512, .udp_port_base = 47000,
		.n_shards = 2, .dtype = DP_DTYPE_BF16, .frac_bits = 0, .flags = DP_PROTO_JOB_AUTH_HEADER_ONLY,
		.policy_version = 0x01020304, .round_base = 0xa0b0c0d0,
	};
	struct dp_proto_job_info back;
	struct dp_proto_error err;
	uint8_t wire[sizeof(struct dp_proto_error)];
	char longtext[100];

	dp_proto_job_info_write(wire, &ji);
	CU_ASSERT_EQUAL(wire[0], 0x01);   /* 300 = 0x012c */
	CU_ASSERT_EQUAL(wire[1], 0x2c);
	CU_ASSERT_EQUAL(wire[11], DP_PROTO_JOB_AUTH_HEADER_ONLY);
	CU_ASSERT_EQUAL(wire[16], 0xa0);
	dp_proto_job_info_read(wire, &back);
	CU_ASSERT_EQUAL(back.n_workers, 300);
	CU_ASSERT_EQUAL(back.udp_port_base, 47000);
	CU_ASSERT_EQUAL(back.n_shards, 2);
	CU_ASSERT_EQUAL(back.dtype, DP_DTYPE_BF16);
	CU_ASSERT_EQUAL(back.policy_version, 0x01020304u);
	CU_ASSERT_EQUAL(back.round_base, 0xa0b0c0d0u);

	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	dp_proto_error_write(wire, DP_ERR_NOT_ADMITTED, longtext);
	dp_proto_error_read(wire, sizeof(wire), &err);
	CU_ASSERT_EQUAL(err.code, DP_ERR_NOT_ADMITTED);
	CU_ASSERT_EQUAL(strlen(err.text), sizeof(err.text) - 1);
	/* Cut, and it says so. */
	CU_ASSERT_STRING_EQUAL(err.text + sizeof(err.text) - 4, "...");
	dp_proto_error_write(wire, DP_ERR_UNKNOWN_JOB, "no job 9");
	dp_proto_error_read(wire, sizeof(wire), &err);
	CU_ASSERT_STRING_EQUAL(err.text, "no job 9");
	CU_ASSERT_EQUAL(wire[1], DP_ERR_UNKNOWN_JOB);
}

static void test_join_wait_round_trips_and_checks(void)
{
	struct dp_proto_join_wait w = { .n_workers = 300, .n_joined = 2 }, back;
	uint8_t buf[DP_PROTO_HDR_SIZE + sizeof(w)];
	struct dp_proto_hdr h;
	size_t len;

	for (unsigned i = 0; i < DP_PROTO_WAIT_LIST; i++)
		w.missing[i] = i < 3 ? (uint16_t)(257 + i) : DP_PROTO_RANK_NONE;
	len = build(buf, DP_MSG_HELLO_WAIT, DP_DTYPE_F32, 0);
	CU_ASSERT_EQUAL(len, sizeof(buf));
	dp_proto_join_wait_write(buf + DP_PROTO_HDR_SIZE, &w);
	CU_ASSERT_EQUAL(buf[DP_PROTO_HDR_SIZE + 4], 0x01);   /* 257, big-endian */
	CU_ASSERT_EQUAL(buf[DP_PROTO_HDR_SIZE + 5], 0x01);
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(h.type, DP_MSG_HELLO_WAIT);
	dp_proto_join_wait_read(buf + DP_PROTO_HDR_SIZE, &back);
	CU_ASSERT(memcmp(&back, &w, sizeof(w)) == 0);
	/* Its payload has one size; a count is refused. */
	CU_ASSERT_EQUAL(check_exact(buf, len - 1, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	buf[13] = 1;
	CU_ASSERT_EQUAL(check_exact(buf, len, &h), DP_PROTO_CHECK_BAD_COUNT);
	CU_ASSERT_STRING_EQUAL(dp_proto_msg_name(DP_MSG_HELLO_WAIT), "hello_wait");
}

static void test_text_is_cut_at_a_character_with_a_marker(void)
{
	char out[8];
	/* "abcd" then U+00E9 (C3 A9) straddling the cut at 4 bytes + "...". */
	const char *utf8 = "abc\xc3\xa9" "defgh";

	CU_ASSERT_FALSE(dp_proto_text_fit(out, sizeof(out), "short"));
	CU_ASSERT_STRING_EQUAL(out, "short");
	CU_ASSERT_FALSE(dp_proto_text_fit(out, sizeof(out), "1234567"));
	CU_ASSERT_STRING_EQUAL(out, "1234567");
	CU_ASSERT_TRUE(dp_proto_text_fit(out, sizeof(out), "12345678"));
	CU_ASSERT_STRING_EQUAL(out, "1234...");
	CU_ASSERT_TRUE(dp_proto_text_fit(out, sizeof(out), utf8));
	CU_ASSERT_STRING_EQUAL(out, "abc...");  /* not "abc\xc3..." */
}

/* A partial job's trailer: its n_workers sizes it; only GRAD and RESULT
 * may carry it; the bitmap keeps each rank's bit where the text says. */
static void test_ranks_trailer(void)
{
	uint8_t buf[2048];
	uint64_t bm[4] = { 0 };
	struct dp_proto_hdr h;
	uint16_t nw, n_in;
	size_t len = build(buf, DP_MSG_RESULT, DP_DTYPE_F32, 16), tr;

	buf[11] |= DP_PROTO_FLAG_RANKS;
	/* No trailer at all, then one too short to say its size. */
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len + 3, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	bm[0] = 1ull << 0 | 1ull << 9 | 1ull << 63;
	bm[1] = 1ull << 0;                 /* rank 64 */
	bm[3] = 1ull << 7;                 /* rank 199 */
	dp_proto_ranks_write(buf + len, 200, 5, bm);
	tr = dp_proto_ranks_size(200);
	CU_ASSERT_EQUAL(tr, 4 + 25);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len + tr, &h), DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len + tr - 1, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len + tr + 1, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	dp_proto_ranks_read(buf + len, &nw, &n_in);
	CU_ASSERT_EQUAL(nw, 200);
	CU_ASSERT_EQUAL(n_in, 5);
	for (uint16_t r = 0; r < 200; r++)
		CU_ASSERT_EQUAL(dp_proto_ranks_has(buf + len, r),
				r == 0 || r == 9 || r == 63 || r == 64 || r == 199);
	CU_ASSERT_EQUAL(buf[len + 4 + 1], 0x02);          /* rank 9: byte 1, bit 1 */
	/* n_workers 0 or past the most a job has. */
	buf[len] = 0;
	buf[len + 1] = 0;
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len + 4, &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	dp_proto_ranks_write(buf + len, DP_PROTO_WORKERS_MAX + 1, 0, NULL);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len + dp_proto_ranks_size(DP_PROTO_WORKERS_MAX + 1),
					   &h), DP_PROTO_CHECK_LENGTH_MISMATCH);
	/* A GRAD's room: zeros after the counts. */
	len = build(buf, DP_MSG_GRAD, DP_DTYPE_BF16, 3);
	buf[11] |= DP_PROTO_FLAG_RANKS;
	dp_proto_ranks_write(buf + len, 4, 0, NULL);
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len + dp_proto_ranks_size(4), &h),
			DP_PROTO_CHECK_OK);
	CU_ASSERT_EQUAL(buf[len + 4], 0);
	/* Any other type with the flag. */
	len = build(buf, DP_MSG_HELLO, 0, 0);
	buf[11] |= DP_PROTO_FLAG_RANKS;
	CU_ASSERT_EQUAL(dp_proto_hdr_check(buf, len, &h), DP_PROTO_CHECK_BAD_FLAGS);
}

static CU_TestInfo tests[] = {
	{ "ranks_trailer", test_ranks_trailer },
	{ "short_header_is_dropped", test_short_header_is_dropped },
	{ "bad_magic_is_dropped", test_bad_magic_is_dropped },
	{ "bad_version_is_dropped", test_bad_version_is_dropped },
	{ "bad_type_is_dropped", test_bad_type_is_dropped },
	{ "bad_dtype_is_dropped", test_bad_dtype_is_dropped },
	{ "reserved_flags_are_dropped", test_reserved_flags_are_dropped },
	{ "bad_count_is_dropped", test_bad_count_is_dropped },
	{ "length_mismatch_is_dropped", test_length_mismatch_is_dropped },
	{ "valid_messages_pass_with_host_order_fields", test_valid_messages_pass_with_host_order_fields },
	{ "tag_order_is_serial_on_rounds", test_tag_order_is_serial_on_rounds },
	{ "dtype_helpers_and_fate_names", test_dtype_helpers_and_fate_names },
	{ "job_info_and_error_round_trip", test_job_info_and_error_round_trip },
	{ "join_wait_round_trips_and_checks", test_join_wait_round_trips_and_checks },
	{ "text_is_cut_at_a_character_with_a_marker",
	  test_text_is_cut_at_a_character_with_a_marker },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run((CU_SuiteInfo){ "dp_proto_hdr", NULL, NULL, reset, NULL, tests });
}
