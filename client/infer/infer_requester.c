/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-infer requester: send requests through the gateway, check every
 * answer against the composed stage transforms, and measure each request's
 * latency (first fragment sent -> last fragment of the answer received).
 *
 * Request k (k = 0, 1, ...) belongs to session session_base + k % sessions,
 * carries request id k & 0xffff, and its input is a pure function of (seed,
 * k, element), so nothing but a 64 KiB-entry table of outstanding requests
 * (indexed by request id) is kept. A request fails on an ERROR, a wrong
 * answer, or no complete answer within the timeout; answers arriving later
 * are counted as late. The run ends after count requests or duration,
 * whichever is set, plus at most one timeout for the last answers: it never
 * waits longer.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp_proto.h"
#include "infer_priv.h"

#define REQ_IDS 65536u
#define BUF_SIZE (DP_INFER_HDR_SIZE + DP_INFER_PAYLOAD_MAX + 64)

struct req {
	bool used;
	uint8_t n_frags;
	uint8_t n_got;
	uint64_t k;             /* request number */
	uint64_t start_ns;
	uint64_t got[4];        /* fragment bitmap */
};

struct run {
	const struct infer_req_opts *o;
	int fd;
	struct req *reqs;       /* [REQ_IDS] */
	uint64_t *fifo;         /* request numbers in send order, ring of window */
	uint64_t fifo_head, fifo_tail;
	uint32_t outstanding;
	uint64_t sent, ok, timeouts, no_replica, errors, mismatches, late, malformed;
	uint64_t send_failed, stalls;
	uint64_t *lat;          /* ns of each successful request */
	uint64_t n_lat, lat_cap;
	uint8_t n_frags;
	uint8_t buf[BUF_SIZE];
};

/* Element i of request k's input: a multiple of 2^-15 in [-1, 1). */
static inline float
input_at(uint64_t seed, uint64_t k, uint64_t i)
{
	uint64_t h = seed ^ (k * 0x9e3779b97f4a7c15ull) ^ (i * 0xc2b2ae3d27d4eb4full);

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return (float)(int32_t)((h & 0xffff) - 0x8000) / 32768.0f;
}

static uint32_t
frag_len(const struct infer_req_opts *o, unsigned f)
{
	uint32_t off = f * o->frag;

	return o->size - off < o->frag ? o->size - off : o->frag;
}

static void
req_fail(struct run *r, struct req *q, uint64_t *counter)
{
	(*counter)++;
	q->used = false;
	r->outstanding--;
}

static int
send_request(struct run *r, uint64_t k, uint64_t now)
{
	const struct infer_req_opts *o = r->o;
	struct req *q = &r->reqs[k & 0xffff];
	uint32_t session = o->session_base + (uint32_t)(k % o->sessions);
	struct sockaddr_in to = o->gateway;
	struct dp_infer_hdr h = {
		.magic = DP_PROTO_MAGIC, .version = DP_PROTO_VERSION, .type = DP_MSG_INFER_ACT,
		.model = o->model, .stage = 0, .flags = o->prio, .session = session,
		.request = (uint16_t)k, .n_frags = r->n_frags,
	};
	unsigned f;

	to.sin_port = htons((uint16_t)(ntohs(o->gateway.sin_port) + session % o->shards));
	for (f = 0; f < r->n_frags; f++) {
		uint32_t len = frag_len(o, f), i, off = o->key != NULL ? DP_INFER_HDR_SIZE + 8 :
									DP_INFER_HDR_SIZE;
		uint64_t base = (uint64_t)f * (o->frag / 4);

		h.frag = (uint8_t)f;
		dp_proto_infer_write(r->buf, &h);
		for (i = 0; i < len / 4; i++) {
			float x = input_at(o->seed, k, base + i);

			memcpy(r->buf + off + 4 * i, &x, 4);
		}
		if (o->key != NULL)
			infer_sign(r->buf, o->key, len);
		if (sendto(r->fd, r->buf, off + len, 0, (struct sockaddr *)&to,
			   sizeof(to)) < 0)
			r->send_failed++;
	}
	memset(q, 0, sizeof(*q));
	q->used = true;
	q->k = k;
	q->n_frags = r->n_frags;
	q->start_ns = now;
	r->fifo[r->fifo_tail++ % o->window] = k;
	r->outstanding++;
	r->sent++;
	return 0;
}

/* Compare one answer fragment with the composed transform of the input. */
static bool
answer_ok(const struct run *r, uint64_t k, unsigned f, const uint8_t *p, uint32_t len)
{
	const struct infer_req_opts *o = r->o;
	uint64_t base = (uint64_t)f * (o->frag / 4);
	uint32_t i;
	unsigned s;

	if (len != frag_len(o, f))
		return false;
	for (i = 0; i < len / 4; i++) {
		float x = input_at(o->seed, k, base + i), y;

		for (s = 0; s < o->n_stages; s++)
			x = x * infer_a(s) + infer_b(s);
		memcpy(&y, p + 4 * i, 4);
		if (memcmp(&x, &y, 4) != 0)
			return false;
	}
	return true;
}

static void
on_message(struct run *r, const uint8_t *buf, size_t len, uint64_t now)
{
	const struct infer_req_opts *o = r->o;
	struct dp_infer_hdr h;
	struct req *q;
	size_t off;

	if (dp_proto_infer_check(buf, len, &h) != DP_PROTO_CHECK_OK || h.model != o->model ||
	    h.type == DP_MSG_INFER_ACT) {
		r->malformed++;
		return;
	}
	if (!infer_auth_ok(buf, len, &h, o->key)) {
		r->malformed++;         /* forged, or the wrong key: never believed */
		return;
	}
	off = dp_proto_infer_payload_off(&h);
	q = &r->reqs[h.request];
	if (!q->used || o->session_base + (uint32_t)(q->k % o->sessions) != h.session) {
		r->late++;
		return;
	}
	if (h.type == DP_MSG_INFER_ERROR) {
		struct dp_infer_error e;

		if (dp_proto_infer_error_read(buf + off, len - off, &e) == 0 &&
		    e.code == DP_INFER_ERR_NO_REPLICA)
			req_fail(r, q, &r->no_replica);
		else
			req_fail(r, q, &r->errors);
		return;
	}
	if (h.stage != o->n_stages || h.n_frags != q->n_frags ||
	    !answer_ok(r, q->k, h.frag, buf + off, (uint32_t)(len - off))) {
		req_fail(r, q, &r->mismatches);
		return;
	}
	if (q->got[h.frag / 64] & (1ull << (h.frag % 64)))
		return;         /* a duplicated fragment */
	q->got[h.frag / 64] |= 1ull << (h.frag % 64);
	if (++q->n_got < q->n_frags)
		return;
	if (r->n_lat < r->lat_cap)
		r->lat[r->n_lat++] = now - q->start_ns;
	r->ok++;
	q->used = false;
	r->outstanding--;
}

static void
receive(struct run *r)
{
	uint64_t now;
	ssize_t n;

	while ((n = recv(r->fd, r->buf, sizeof(r->buf), MSG_DONTWAIT)) >= 0) {
		now = infer_now_ns();
		on_message(r, r->buf, (size_t)n, now);
	}
}

/* Fail requests older than the timeout (they are in send order). */
static void
expire(struct run *r, uint64_t now)
{
	uint64_t to = (uint64_t)r->o->timeout_ms * 1000000ull;

	while (r->fifo_head != r->fifo_tail) {
		uint64_t k = r->fifo[r->fifo_head % r->o->window];
		struct req *q = &r->reqs[k & 0xffff];

		if (q->used && q->k == k) {
			if (now - q->start_ns < to)
				return;
			req_fail(r, q, &r->timeouts);
		}
		r->fifo_head++;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_us(const uint64_t *v, uint64_t n, double p)
{
	uint64_t i;

	if (n == 0)
		return 0.0;
	i = (uint64_t)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

static int
report(struct run *r, uint64_t elapsed_ns)
{
	const struct infer_req_opts *o = r->o;
	uint64_t failed = r->timeouts + r->no_replica + r->errors + r->mismatches, i, sum = 0;

	qsort(r->lat, r->n_lat, sizeof(*r->lat), cmp_u64);
	for (i = 0; i < r->n_lat; i++)
		sum += r->lat[i];
	printf("%srequests=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64 " timeouts=%" PRIu64
	       " no_replica=%" PRIu64 " errors=%" PRIu64 " mismatches=%" PRIu64 " late=%" PRIu64
	       " malformed=%" PRIu64 " send_failed=%" PRIu64 " window_stalls=%" PRIu64
	       " seconds=%.3f\n", o->json ? "# " : "", r->sent, r->ok, failed, r->timeouts,
	       r->no_replica, r->errors, r->mismatches, r->late, r->malformed, r->send_failed,
	       r->stalls, (double)elapsed_ns / 1e9);
	printf("%slatency_us p50=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f\n",
	       o->json ? "# " : "", pct_us(r->lat, r->n_lat, 0.5), pct_us(r->lat, r->n_lat, 0.99),
	       pct_us(r->lat, r->n_lat, 0.999), pct_us(r->lat, r->n_lat, 1.0),
	       r->n_lat ? (double)sum / (double)r->n_lat / 1000.0 : 0.0);
	if (o->json)
		printf("{\"requests\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64
		       ",\"timeouts\":%" PRIu64 ",\"no_replica\":%" PRIu64 ",\"errors\":%" PRIu64
		       ",\"mismatches\":%" PRIu64 ",\"late\":%" PRIu64 ",\"p50_us\":%.1f"
		       ",\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}\n",
		       r->sent, r->ok, failed, r->timeouts, r->no_replica, r->errors,
		       r->mismatches, r->late, pct_us(r->lat, r->n_lat, 0.5),
		       pct_us(r->lat, r->n_lat, 0.99), pct_us(r->lat, r->n_lat, 0.999),
		       pct_us(r->lat, r->n_lat, 1.0));
	fflush(stdout);
	return failed > o->max_fail || r->ok == 0 ? 1 : 0;
}

int
infer_requester_run(const struct infer_req_opts *o)
{
	struct run *r = calloc(1, sizeof(*r));
	uint64_t start, now, next_send, end_send, drain_end = 0, k = 0;
	uint64_t interval = o->rate > 0 ? (uint64_t)(1e9 / o->rate) : 0;
	int rc = 3;

	if (r == NULL)
		return 3;
	r->o = o;
	r->n_frags = (uint8_t)((o->size + o->frag - 1) / o->frag);
	r->lat_cap = o->count ? o->count : 10000000;
	r->reqs = calloc(REQ_IDS, sizeof(*r->reqs));
	r->fifo = calloc(o->window, sizeof(*r->fifo));
	r->lat = malloc(r->lat_cap * sizeof(*r->lat));
	if (r->reqs == NULL || r->fifo == NULL || r->lat == NULL)
		goto out_free;
	r->fd = infer_socket(&o->bind);
	if (r->fd < 0)
		goto out_free;
	infer_signals();
	start = now = next_send = infer_now_ns();
	end_send = o->duration_ns ? start + o->duration_ns : UINT64_MAX;
	for (;;) {
		bool more = !infer_stopping() && (o->count == 0 || k < o->count) && now < end_send;
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		struct timespec ts = { 0, 10000000 };   /* 10 ms at most */

		while (more && (interval == 0 || now >= next_send)) {
			if (r->outstanding >= o->window || r->reqs[k & 0xffff].used) {
				r->stalls += interval != 0;
				break;
			}
			send_request(r, k++, now);
			next_send += interval;
			more = (o->count == 0 || k < o->count) && now < end_send;
		}
		if (!more) {
			/* Sending is over: wait one timeout at most for the rest. */
			if (drain_end == 0)
				drain_end = now + (uint64_t)o->timeout_ms * 1000000ull;
			if (r->outstanding == 0 || now >= drain_end)
				break;
		} else if (interval != 0 && next_send > now && next_send - now < 10000000) {
			ts.tv_nsec = (long)(next_send - now);
		}
		ppoll(&pfd, 1, &ts, NULL);
		receive(r);
		now = infer_now_ns();
		expire(r, now);
	}
	r->timeouts += r->outstanding;
	rc = report(r, infer_now_ns() - start);
	close(r->fd);
out_free:
	free(r->lat);
	free(r->fifo);
	free(r->reqs);
	free(r);
	return rc;
}
