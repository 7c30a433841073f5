/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inference activation messages: checking and writing the 22-byte header.
 *
 * Fields are assembled byte by byte rather than through the packed struct, so
 * the buffer may have any alignment; compilers fold each into one load plus a
 * byte swap.
 */
#include <errno.h>
#include <string.h>

#include "dp_proto.h"
#include "dp_proto_infer.h"

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static inline void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

enum dp_proto_check
dp_proto_infer_check(const void *udp_payload, size_t len, struct dp_infer_hdr *out)
{
	const uint8_t *p = udp_payload;
	size_t payload;

	if (len < DP_INFER_HDR_SIZE)
		return DP_PROTO_CHECK_SHORT;
	out->magic = rd16(p);
	out->version = p[2];
	out->type = p[3];
	if (out->magic != DP_PROTO_MAGIC)
		return DP_PROTO_CHECK_BAD_MAGIC;
	if (out->version != DP_PROTO_VERSION)
		return DP_PROTO_CHECK_BAD_VERSION;
	if (out->type < DP_MSG_INFER_ACT || out->type > DP_MSG_INFER_BEAT)
		return DP_PROTO_CHECK_BAD_TYPE;
	out->model = rd16(p + 4);
	out->stage = p[6];
	out->flags = p[7];
	out->session = rd32(p + 8);
	out->request = rd16(p + 12);
	out->frag = p[14];
	out->n_frags = p[15];
	out->reply_ip = rd32(p + 16);
	out->reply_port = rd16(p + 20);
	if (out->flags & DP_INFER_FLAG_RESERVED_MASK)
		return DP_PROTO_CHECK_BAD_FLAGS;
	if (out->n_frags == 0 || out->frag >= out->n_frags)
		return DP_PROTO_CHECK_BAD_COUNT;
	if (len < dp_proto_infer_payload_off(out))
		return DP_PROTO_CHECK_LENGTH_MISMATCH;
	payload = len - dp_proto_infer_payload_off(out);
	if (out->type == DP_MSG_INFER_ERROR) {
		if (payload != sizeof(struct dp_infer_error))
			return DP_PROTO_CHECK_LENGTH_MISMATCH;
	} else if (out->type == DP_MSG_INFER_BEAT) {
		if (payload != 0)
			return DP_PROTO_CHECK_LENGTH_MISMATCH;
	} else if (payload == 0 || payload > DP_INFER_PAYLOAD_MAX) {
		return DP_PROTO_CHECK_LENGTH_MISMATCH;
	}
	return DP_PROTO_CHECK_OK;
}

void
dp_proto_infer_write(void *dst, const struct dp_infer_hdr *hdr)
{
	uint8_t *p = dst;

	wr16(p, hdr->magic);
	p[2] = hdr->version;
	p[3] = hdr->type;
	wr16(p + 4, hdr->model);
	p[6] = hdr->stage;
	p[7] = hdr->flags;
	wr32(p + 8, hdr->session);
	wr16(p + 12, hdr->request);
	p[14] = hdr->frag;
	p[15] = hdr->n_frags;
	wr32(p + 16, hdr->reply_ip);
	wr16(p + 20, hdr->reply_port);
}

void
dp_proto_infer_error_write(void *dst, uint16_t code, uint16_t model, uint8_t stage,
			   const char *text)
{
	uint8_t *p = dst;
	size_t n = text ? strnlen(text, 55) : 0;

	memset(p, 0, sizeof(struct dp_infer_error));
	wr16(p, code);
	wr16(p + 2, model);
	p[4] = stage;
	if (n)
		memcpy(p + 8, text, n);
}

int
dp_proto_infer_error_read(const void *src, size_t len, struct dp_infer_error *out)
{
	const uint8_t *p = src;

	if (len != sizeof(struct dp_infer_error))
		return -EINVAL;
	memcpy(out, p, sizeof(*out));
	out->code = rd16(p);
	out->model = rd16(p + 2);
	out->text[sizeof(out->text) - 1] = '\0';
	return 0;
}

const char *
dp_proto_infer_err_name(uint16_t code)
{
	switch (code) {
	case DP_INFER_ERR_NO_REPLICA:
		return "no_replica";
	case DP_INFER_ERR_UNKNOWN_MODEL:
		return "unknown_model";
	case DP_INFER_ERR_BAD_STAGE:
		return "bad_stage";
	case DP_INFER_ERR_OVERLOADED:
		return "overloaded";
	default:
		return "unknown";
	}
}
