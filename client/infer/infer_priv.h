/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-infer internals: shared by the stage and requester roles.
 *
 * The stage transform is y = x * a_s + b_s per float32 element, with constants
 * that depend only on the stage number s, so a requester can compose the
 * stages itself and check every answer bit for bit. This file and its users
 * are compiled with -ffp-contract=off: a fused multiply-add on one side and
 * not the other would round differently.
 */
#ifndef INFER_PRIV_H
#define INFER_PRIV_H

#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "dp_auth.h"
#include "dp_proto_infer.h"

#define INFER_BATCH 32u
#define INFER_FRAG_DEFAULT 1024u

/* Stage constants: contracting (|a| < 1) so values stay bounded over many
 * stages; both are exact binary32 values. */
static inline float
infer_a(unsigned s)
{
	return 1.0f - (float)(s % 4 + 1) / 16.0f;
}

static inline float
infer_b(unsigned s)
{
	return (float)(s % 8 + 1) / 32.0f;
}

/* Apply stage s to n little-endian float32 elements in place. */
static inline void
infer_transform(uint8_t *p, size_t n, unsigned s)
{
	const float a = infer_a(s), b = infer_b(s);
	size_t i;

	for (i = 0; i < n; i++) {
		float x;

		memcpy(&x, p + 4 * i, 4);
		x = x * a + b;
		memcpy(p + 4 * i, &x, 4);
	}
}

static inline uint64_t
infer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Tag the message at buf (header written, n payload bytes after the tag's
 * room) with the model's key (docs/protocol.md section 11). */
static inline void
infer_sign(uint8_t *buf, const struct dp_auth_key *key, size_t n)
{
	buf[7] |= DP_INFER_FLAG_AUTH;   /* the flags byte */
	dp_auth_tag_write(buf + DP_INFER_HDR_SIZE,
			  dp_auth_tag(key, 0, buf, buf + DP_INFER_HDR_SIZE + 8, n));
}

/* Whether a received message (len bytes, header checked into *h) is
 * authentic for key (NULL: no key, so it must carry no tag either). */
static inline bool
infer_auth_ok(const uint8_t *buf, size_t len, const struct dp_infer_hdr *h,
	      const struct dp_auth_key *key)
{
	if (!(h->flags & DP_INFER_FLAG_AUTH))
		return key == NULL;
	return key != NULL && dp_auth_check(key, 0, buf, buf + DP_INFER_HDR_SIZE,
					    buf + DP_INFER_HDR_SIZE + 8,
					    len - DP_INFER_HDR_SIZE - 8);
}

/* The wall clock in ms, low 32 bits: a keyed model's BEAT carries it. */
static inline uint32_t
infer_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* "IP[:PORT]" into sin; port_required says whether PORT may be omitted (then
 * sin's port is left alone). 0 or -1. */
int infer_parse_addr(const char *arg, struct sockaddr_in *sin, bool port_required);

/* A bound, non-blocking UDP socket with large buffers; -1 and a message on
 * stderr on failure. */
int infer_socket(const struct sockaddr_in *bind_addr);

/* Set by SIGINT/SIGTERM. */
extern atomic_bool infer_stop;   /* set by SIGINT/SIGTERM */

static inline bool
infer_stopping(void)
{
	return atomic_load_explicit(&infer_stop, memory_order_relaxed);
}
void infer_signals(void);

#define INFER_BEATS_MAX 16u

struct infer_stage_opts {
	struct sockaddr_in bind;
	int model;              /* -1: any */
	uint64_t duration_ns;   /* 0: until a signal */
	uint32_t delay_us;      /* simulated compute per message */
	bool quiet;
	/* Heartbeats (BEAT) to the gateway, one per served (model, stage). */
	struct sockaddr_in gateway;
	bool have_gateway;
	unsigned n_beats;
	uint16_t beat_model[INFER_BEATS_MAX];
	uint8_t beat_stage[INFER_BEATS_MAX];
	uint32_t beat_ms;
	const struct dp_auth_key *key;  /* the model's (--key-file), or NULL */
};

struct infer_req_opts {
	struct sockaddr_in gateway;     /* port = base; session s uses base + s % shards */
	struct sockaddr_in bind;
	unsigned shards;
	uint16_t model;
	unsigned n_stages;
	uint32_t size;          /* request bytes (multiple of 4) */
	uint32_t frag;          /* payload bytes per fragment (multiple of 4) */
	uint64_t count;         /* requests; 0 = until duration */
	uint64_t duration_ns;   /* 0 = until count */
	double rate;            /* requests per second; 0 = closed loop */
	uint32_t window;        /* outstanding requests at most */
	uint32_t sessions;
	uint32_t session_base;
	uint32_t timeout_ms;
	uint8_t prio;
	uint64_t seed;
	uint64_t max_fail;
	bool json;
	const struct dp_auth_key *key;  /* the model's (--key-file), or NULL */
};

int infer_stage_run(const struct infer_stage_opts *o);
int infer_requester_run(const struct infer_req_opts *o);

#endif /* INFER_PRIV_H */
