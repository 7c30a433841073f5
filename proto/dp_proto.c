/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_proto: wire protocol v2 helpers. Pure functions; the gateway calls
 * dp_proto_hdr_check() once per received datagram, so it reads the header
 * with byte loads (no alignment assumptions, no reads past len) and decides
 * with a handful of compares.
 */
#include <stdbool.h>
#include <string.h>

#include "dp_proto.h"

#define DP_PROTO_CHECK_NAME_(name, str) [DP_PROTO_CHECK_##name] = str,
static const char *const dp_proto_check_names[DP_PROTO_CHECKS] = {
	DP_PROTO_CHECK_LIST(DP_PROTO_CHECK_NAME_)
};
#undef DP_PROTO_CHECK_NAME_

const char *dp_proto_check_name(enum dp_proto_check c)
{
	if ((unsigned)c >= DP_PROTO_CHECKS)
		return "invalid";
	return dp_proto_check_names[c];
}

static const struct {
	const char *name;
	uint8_t size;
} dp_dtypes[] = {
	[DP_DTYPE_F32] = { "float32", 4 },
	[DP_DTYPE_I32] = { "int32", 4 },
	[DP_DTYPE_BF16] = { "bfloat16", 2 },
	[DP_DTYPE_F16] = { "float16", 2 },
};

#define DP_DTYPES_N (sizeof(dp_dtypes) / sizeof(dp_dtypes[0]))

size_t dp_proto_dtype_size(uint8_t dtype)
{
	if (dtype >= DP_DTYPES_N)
		return 0;
	return dp_dtypes[dtype].size;
}

const char *dp_proto_dtype_name(uint8_t dtype)
{
	if (dtype >= DP_DTYPES_N)
		return NULL;
	return dp_dtypes[dtype].name;
}

uint8_t dp_proto_dtype_parse(const char *name)
{
	if (name == NULL)
		return 0;
	for (uint8_t t = 1; t < DP_DTYPES_N; t++)
		if (strcmp(name, dp_dtypes[t].name) == 0)
			return t;
	return 0;
}

const char *dp_proto_msg_name(uint8_t type)
{
	switch (type) {
	case DP_MSG_GRAD: return "grad";
	case DP_MSG_RESULT: return "result";
	case DP_MSG_HELLO: return "hello";
	case DP_MSG_HELLO_ACK: return "hello_ack";
	case DP_MSG_ERROR: return "error";
	case DP_MSG_HELLO_WAIT: return "hello_wait";
	case DP_MSG_LEAVE: return "leave";
	case DP_MSG_WAITING: return "waiting";
	default: return NULL;
	}
}

static inline uint16_t be16_get(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Offsets of the fields in the 22-byte wire header. */
enum {
	OFF_MAGIC = 0, OFF_VERSION = 2, OFF_TYPE = 3, OFF_JOB = 4, OFF_RANK = 6,
	OFF_SLOT = 8, OFF_DTYPE = 10, OFF_FLAGS = 11, OFF_COUNT = 12,
	OFF_OFFSET = 14, OFF_ROUND = 18,
};

enum dp_proto_check dp_proto_hdr_check(const void *udp_payload, size_t len,
				struct dp_proto_hdr *out)
{
	const uint8_t *p = udp_payload;
	size_t payload_size;
	size_t esize;

	if (len < DP_PROTO_HDR_SIZE)
		return DP_PROTO_CHECK_SHORT;
	out->magic = be16_get(p + OFF_MAGIC);
	if (out->magic != DP_PROTO_MAGIC)
		return DP_PROTO_CHECK_BAD_MAGIC;
	out->version = p[OFF_VERSION];
	if (out->version != DP_PROTO_VERSION)
		return DP_PROTO_CHECK_BAD_VERSION;
	out->type = p[OFF_TYPE];
	if (out->type < DP_MSG_GRAD || out->type > DP_MSG_WAITING)
		return DP_PROTO_CHECK_BAD_TYPE;

	out->dtype = p[OFF_DTYPE];
	esize = dp_proto_dtype_size(out->dtype);
	if (esize == 0) {
		/* HELLO may leave the type open; ERROR and HELLO_WAIT may
		 * not know it. */
		bool optional = out->type == DP_MSG_HELLO || out->type == DP_MSG_ERROR ||
				out->type == DP_MSG_HELLO_WAIT || out->type == DP_MSG_LEAVE;

		if (!(optional && out->dtype == 0))
			return DP_PROTO_CHECK_BAD_DTYPE;
	}
	out->flags = p[OFF_FLAGS];
	if ((out->flags & DP_PROTO_FLAG_RESERVED_MASK) ||
	    ((out->flags & DP_PROTO_FLAG_RANKS) && out->type != DP_MSG_GRAD &&
	     out->type != DP_MSG_RESULT))
		return DP_PROTO_CHECK_BAD_FLAGS;

	out->count = be16_get(p + OFF_COUNT);
	switch (out->type) {
	case DP_MSG_GRAD:
	case DP_MSG_RESULT:
		payload_size = (size_t)out->count * esize;
		if (out->count == 0 || payload_size > DP_PROTO_CHUNK_SIZE_MAX)
			return DP_PROTO_CHECK_BAD_COUNT;
		break;
	case DP_MSG_HELLO:
	case DP_MSG_LEAVE:
		payload_size = DP_PROTO_HELLO_PAD;
		goto no_count;
	case DP_MSG_HELLO_ACK:
		payload_size = sizeof(struct dp_proto_job_info);
		goto no_count;
	case DP_MSG_HELLO_WAIT:
		payload_size = sizeof(struct dp_proto_join_wait);
		goto no_count;
	case DP_MSG_WAITING: {
		/* DP_PROTO_WAITING_MIN .. 20 bytes: a prefix of the layout. */
		size_t before = DP_PROTO_HDR_SIZE +
				((out->flags & DP_PROTO_FLAG_AUTH) ? DP_PROTO_TAG_SIZE : 0);

		payload_size = len >= before + DP_PROTO_WAITING_MIN &&
			       len - before <= sizeof(struct dp_proto_join_wait) ?
			       len - before : sizeof(struct dp_proto_join_wait);
		goto no_count;
	}
	case DP_MSG_ERROR: {
		/* DP_PROTO_ERROR_MIN .. 64 bytes: a prefix of the layout. */
		size_t before = DP_PROTO_HDR_SIZE +
				((out->flags & DP_PROTO_FLAG_AUTH) ? DP_PROTO_TAG_SIZE : 0);

		payload_size = len >= before + DP_PROTO_ERROR_MIN &&
			       len - before <= sizeof(struct dp_proto_error) ?
			       len - before : sizeof(struct dp_proto_error);
		goto no_count;
	}
	default:
		payload_size = sizeof(struct dp_proto_error);
no_count:
		if (out->count != 0)
			return DP_PROTO_CHECK_BAD_COUNT;
		break;
	}
	if (out->flags & DP_PROTO_FLAG_AUTH)
		payload_size += DP_PROTO_TAG_SIZE +
				(out->type == DP_MSG_HELLO_ACK ? DP_PROTO_SALT_SIZE : 0);
	if (out->flags & DP_PROTO_FLAG_RANKS) {
		/* The trailer after the elements says its own size. */
		size_t at = DP_PROTO_HDR_SIZE + payload_size;
		uint16_t nw;

		if (len < at + DP_PROTO_RANKS_HDR)
			return DP_PROTO_CHECK_LENGTH_MISMATCH;
		nw = be16_get(p + at);
		if (nw == 0 || nw > DP_PROTO_WORKERS_MAX)
			return DP_PROTO_CHECK_LENGTH_MISMATCH;
		payload_size += dp_proto_ranks_size(nw);
	}
	if (len != DP_PROTO_HDR_SIZE + payload_size)
		return DP_PROTO_CHECK_LENGTH_MISMATCH;

	out->job = be16_get(p + OFF_JOB);
	out->rank = be16_get(p + OFF_RANK);
	out->slot = be16_get(p + OFF_SLOT);
	out->offset = be32_get(p + OFF_OFFSET);
	out->round = be32_get(p + OFF_ROUND);
	return DP_PROTO_CHECK_OK;
}

void dp_proto_hdr_write(void *dst, const struct dp_proto_hdr *hdr)
{
	uint8_t *p = dst;

	be16_put(p + OFF_MAGIC, hdr->magic);
	p[OFF_VERSION] = hdr->version;
	p[OFF_TYPE] = hdr->type;
	be16_put(p + OFF_JOB, hdr->job);
	be16_put(p + OFF_RANK, hdr->rank);
	be16_put(p + OFF_SLOT, hdr->slot);
	p[OFF_DTYPE] = hdr->dtype;
	p[OFF_FLAGS] = hdr->flags;
	be16_put(p + OFF_COUNT, hdr->count);
	be32_put(p + OFF_OFFSET, hdr->offset);
	be32_put(p + OFF_ROUND, hdr->round);
}

int dp_proto_tag_cmp(uint32_t round_a, uint32_t offset_a,
		     uint32_t round_b, uint32_t offset_b)
{
	return dp_proto_tag_cmp_inline(round_a, offset_a, round_b, offset_b);
}

/* Offsets in the HELLO_ACK payload. */
enum {
	JI_N_WORKERS = 0, JI_CHUNK_SIZE = 2, JI_N_SLOTS = 4, JI_PORT_BASE = 6,
	JI_N_SHARDS = 8, JI_DTYPE = 9, JI_FRAC_BITS = 10, JI_FLAGS = 11,
	JI_POLICY_VERSION = 12, JI_ROUND_BASE = 16,
};

void dp_proto_job_info_write(void *dst, const struct dp_proto_job_info *ji)
{
	uint8_t *p = dst;

	be16_put(p + JI_N_WORKERS, ji->n_workers);
	be16_put(p + JI_CHUNK_SIZE, ji->chunk_size);
	be16_put(p + JI_N_SLOTS, ji->n_slots);
	be16_put(p + JI_PORT_BASE, ji->udp_port_base);
	p[JI_N_SHARDS] = ji->n_shards;
	p[JI_DTYPE] = ji->dtype;
	p[JI_FRAC_BITS] = ji->frac_bits;
	p[JI_FLAGS] = ji->flags;
	be32_put(p + JI_POLICY_VERSION, ji->policy_version);
	be32_put(p + JI_ROUND_BASE, ji->round_base);
}

void dp_proto_job_info_read(const void *src, struct dp_proto_job_info *ji)
{
	const uint8_t *p = src;

	ji->n_workers = be16_get(p + JI_N_WORKERS);
	ji->chunk_size = be16_get(p + JI_CHUNK_SIZE);
	ji->n_slots = be16_get(p + JI_N_SLOTS);
	ji->udp_port_base = be16_get(p + JI_PORT_BASE);
	ji->n_shards = p[JI_N_SHARDS];
	ji->dtype = p[JI_DTYPE];
	ji->frac_bits = p[JI_FRAC_BITS];
	ji->flags = p[JI_FLAGS];
	ji->policy_version = be32_get(p + JI_POLICY_VERSION);
	ji->round_base = be32_get(p + JI_ROUND_BASE);
}

void dp_proto_ranks_write(void *dst, uint16_t n_workers, uint16_t n_in, const uint64_t *bitmap)
{
	uint8_t *p = dst;

	be16_put(p, n_workers);
	be16_put(p + 2, n_in);
	for (size_t i = 0; i < ((size_t)n_workers + 7) / 8; i++)
		p[DP_PROTO_RANKS_HDR + i] = bitmap != NULL ? (uint8_t)(bitmap[i / 8] >> (8 * (i % 8)))
							   : 0;
}

void dp_proto_ranks_read(const void *src, uint16_t *n_workers, uint16_t *n_in)
{
	const uint8_t *p = src;

	*n_workers = be16_get(p);
	*n_in = be16_get(p + 2);
}

void dp_proto_join_wait_write(void *dst, const struct dp_proto_join_wait *w)
{
	uint8_t *p = dst;

	be16_put(p, w->n_workers);
	be16_put(p + 2, w->n_joined);
	for (unsigned i = 0; i < DP_PROTO_WAIT_LIST; i++)
		be16_put(p + 4 + 2 * i, w->missing[i]);
}

void dp_proto_hello_floor_write(void *pad, uint32_t floor)
{
	uint8_t *p = pad;

	p[0] = (uint8_t)(floor >> 24);
	p[1] = (uint8_t)(floor >> 16);
	p[2] = (uint8_t)(floor >> 8);
	p[3] = (uint8_t)floor;
	p[4] = DP_PROTO_HELLO_FLOOR;
}

bool dp_proto_hello_floor_read(const void *pad, uint32_t *floor)
{
	const uint8_t *p = pad;

	if (p[4] != DP_PROTO_HELLO_FLOOR)
		return false;
	*floor = (uint32_t)be16_get(p) << 16 | be16_get(p + 2);
	return true;
}

void dp_proto_join_wait_read(const void *src, struct dp_proto_join_wait *w)
{
	const uint8_t *p = src;

	w->n_workers = be16_get(p);
	w->n_joined = be16_get(p + 2);
	for (unsigned i = 0; i < DP_PROTO_WAIT_LIST; i++)
		w->missing[i] = be16_get(p + 4 + 2 * i);
}

bool dp_proto_text_fit(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src), cut;

	if (n < size) {
		memcpy(dst, src, n + 1);
		return false;
	}
	/* Room for "..." and the NUL; back up over UTF-8 continuation bytes
	 * (10xxxxxx) so that no character is split. */
	cut = size - 4;
	while (cut > 0 && ((unsigned char)src[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(dst, src, cut);
	memcpy(dst + cut, "...", 4);
	return true;
}

void dp_proto_error_write(void *dst, uint16_t code, const char *text)
{
	uint8_t *p = dst;
	char fit[sizeof(((struct dp_proto_error *)0)->text)];

	be16_put(p, code);
	be16_put(p + 2, 0);
	memset(fit, 0, sizeof(fit));
	if (text != NULL)
		dp_proto_text_fit(fit, sizeof(fit), text);
	memcpy(p + 4, fit, sizeof(fit));
}

void dp_proto_error_read(const void *src, size_t n, struct dp_proto_error *err)
{
	uint8_t p[sizeof(struct dp_proto_error)] = { 0 };

	memcpy(p, src, n < sizeof(p) ? n : sizeof(p));
	err->code = be16_get(p);
	err->reserved = be16_get(p + 2);
	memcpy(err->text, p + 4, sizeof(err->text));
	err->text[sizeof(err->text) - 1] = '\0';
}
