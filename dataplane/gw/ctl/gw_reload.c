/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitn-gw's control loop and policy reloads (gw_ctl.h).
 *
 * Everything that builds tables runs on the main thread: the telemetry
 * thread only posts a request (a sequence number and an eventfd write) and
 * waits on a condition variable, with a bound, for the main thread to report
 * the reload that served it. Requests that arrive while a reload runs are
 * served by the next one (it reads the file again), never by the running
 * one, which may have read the file before they were made.
 *
 * Reload latency is measured from the trigger (the first inotify event of a
 * burst, the signal's arrival, the telemetry request) until every data lcore
 * has noted the new table generation (dp_live_lcore_wait), so it includes
 * the debounce, the read, the parse, the build, the grace period and the
 * lcores' switch.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cp_json.h"
#include "cp_policy.h"
#include "gw_cp.h"
#include "gw_ctl.h"
#include "gw_notify.h"

#define GW_CTL_LCORE_WAIT_NS 1000000000ull     /* lcores switch within a poll */
#define GW_CTL_DEBOUNCE_MS 2
#define GW_CTL_DEBOUNCE_MAX 20                  /* x debounce: a burst cannot stall */
#define GW_CTL_HOUSEKEEPING_NS 1000000000ull

struct gw_ctl {
	struct gw *gw;
	const struct cp_gw_config *cfg;
	struct cp_limits lim;
	char path[PATH_MAX];
	char dir[PATH_MAX];
	char base[NAME_MAX + 1];
	int sfd, ifd, efd;
	uint64_t debounce_ns;
	unsigned stats_interval;
	/* lock guards everything below: the telemetry threads read it */
	pthread_mutex_t lock;
	pthread_cond_t done;
	uint64_t req_seq;               /* requests posted */
	uint64_t req_first_ns;          /* when the oldest unserved one came */
	uint64_t served_seq;            /* requests answered */
	uint64_t seq;                   /* reloads done */
	struct gw_reload_status last;
	struct gw_ctl_counts counts;
};

static const char *const trigger_names[GW_RELOAD_TRIGGERS] = {
	[GW_RELOAD_START] = "start", [GW_RELOAD_SIGHUP] = "sighup",
	[GW_RELOAD_INOTIFY] = "file_change", [GW_RELOAD_TELEMETRY] = "daitnctl",
};

static const char *const result_names[GW_RELOAD_RESULTS] = {
	[GW_RELOAD_OK] = "ok", [GW_RELOAD_INVALID] = "invalid",
	[GW_RELOAD_UNREADABLE] = "unreadable", [GW_RELOAD_REFUSED] = "refused",
	[GW_RELOAD_TIMEOUT] = "timeout",
};

const char *
gw_reload_trigger_name(enum gw_reload_trigger t)
{
	return (unsigned)t < GW_RELOAD_TRIGGERS ? trigger_names[t] : "invalid";
}

const char *
gw_reload_result_name(enum gw_reload_result r)
{
	return (unsigned)r < GW_RELOAD_RESULTS ? result_names[r] : "invalid";
}

const char *
gw_ctl_policy_path(const struct gw_ctl *c)
{
	return c->path;
}

bool
gw_ctl_watching(const struct gw_ctl *c)
{
	return c->ifd >= 0;
}

uint64_t
gw_ctl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Jobs the reload keeps (same under cp_job_same), adds and removes; both
 * job arrays are sorted by id. */
static void
jobs_diff(const struct cp_policy *old, const struct cp_policy *p, struct gw_reload_status *r)
{
	uint32_t i = 0, j = 0, no = old != NULL ? old->n_jobs : 0;

	while (i < no || j < p->n_jobs) {
		if (j == p->n_jobs || (i < no && old->jobs[i].id < p->jobs[j].id)) {
			r->jobs_removed++;
			i++;
		} else if (i == no || p->jobs[j].id < old->jobs[i].id) {
			r->jobs_added++;
			j++;
		} else {
			if (cp_job_same(&old->jobs[i], &p->jobs[j]))
				r->jobs_kept++;
			else
				r->jobs_added++, r->jobs_removed++;
			i++;
			j++;
		}
	}
}

/* Diagnostics for the status: the file's base name keeps them within
 * telemetry's 128-character strings more often (the path is in the status). */
static void
errors_keep(struct gw_reload_status *r, const struct cp_diags *d)
{
	r->n_errors = d->n;
	for (unsigned i = 0; i < d->n && i < GW_RELOAD_ERRORS; i++) {
		struct cp_diag g = d->v[i];
		char *copy = strdup(g.file), buf[CP_DIAG_FILE_MAX + CP_DIAG_PATH_MAX + CP_DIAG_MSG_MAX + 40];

		if (copy != NULL) {
			snprintf(g.file, sizeof(g.file), "%s", basename(copy));
			free(copy);
		}
		cp_diag_format(&g, buf, sizeof(buf));
		dp_proto_text_fit(r->errors[i], sizeof(r->errors[i]), buf);
	}
}

/* Wait (bounded) until every running data lcore has noted generation gen;
 * returns the CLOCK_MONOTONIC time at which the last one switched (its own
 * TSC reading, converted), or now if the lcores are not running. */
static uint64_t
lcores_wait(struct gw *gw, uint64_t gen, bool *late)
{
	struct dp_live_lcore *notes[CP_LCORES_MAX];
	uint64_t latest = 0, tsc, now;

	*late = false;
	if (!gw->launched)
		return gw_ctl_now_ns();
	for (unsigned k = 0; k < gw->n_lcores; k++)
		notes[k] = &gw->lcores[k]->cp->note;
	if (dp_live_lcore_wait(notes, gw->n_lcores, gen, GW_CTL_LCORE_WAIT_NS, &latest) != 0)
		*late = true;
	tsc = gw_now(gw);
	now = gw_ctl_now_ns();
	if (*late || latest == 0 || latest > tsc)
		return now;
	return now - (uint64_t)((double)(tsc - latest) * 1e9 / (double)gw->cp->hz);
}

static void
status_store(struct gw_ctl *c, struct gw_reload_status *r)
{
	pthread_mutex_lock(&c->lock);
	r->seq = ++c->seq;
	c->last = *r;
	c->counts.by_trigger[r->trigger]++;
	switch (r->result) {
	case GW_RELOAD_OK: c->counts.ok++; break;
	case GW_RELOAD_INVALID: c->counts.invalid++; break;
	case GW_RELOAD_UNREADABLE: c->counts.unreadable++; break;
	default: c->counts.refused++; break;
	}
	pthread_mutex_unlock(&c->lock);
}

void
gw_ctl_reload_file(struct gw *gw, const char *path, const struct cp_limits *lim,
		   enum gw_reload_trigger trigger, uint64_t t0, struct gw_reload_status *out)
{
	struct gw_reload_status r = { .trigger = trigger, .at_ms = wall_ms() };
	const struct gw_tables *cur = gw->tables;
	const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	struct cp_diags diags = { 0 };
	struct cp_policy *p = NULL;
	char *text = NULL, err[256], msg[NAME_MAX + 320];
	uint64_t t1, t2, t3, switched = 0;
	size_t len = 0;
	int rc;

	/* Wall-clock time of the trigger, not of now. */
	r.at_ms -= (int64_t)((gw_ctl_now_ns() - t0) / 1000000);
	r.version = cur != NULL ? cur->version : 0;
	r.gen = cur != NULL ? cur->gen : 0;
	t1 = gw_ctl_now_ns();
	rc = cp_json_file_read(path, &text, &len);
	t2 = gw_ctl_now_ns();
	r.read_ns = t2 - t1;
	if (rc != 0) {
		r.result = GW_RELOAD_UNREADABLE;
		snprintf(msg, sizeof(msg), "cannot read %s: %s", base, strerror(-rc));
		dp_proto_text_fit(r.message, sizeof(r.message), msg);
		dp_proto_text_fit(r.errors[0], sizeof(r.errors[0]), msg);
		r.n_errors = 1;
		gw_reload_refused(gw, msg);
		goto done;
	}
	/* Through the gateway's parse cache: of a big policy, usually only
	 * the few jobs or models that changed go through jansson again. */
	rc = cp_policy_parse_cached(text, len, path, lim, gw->cp->jcache, &p, &diags);
	free(text);
	t3 = gw_ctl_now_ns();
	r.parse_ns = t3 - t2;
	if (rc != 0) {
		r.result = rc == -EINVAL ? GW_RELOAD_INVALID : GW_RELOAD_UNREADABLE;
		errors_keep(&r, &diags);
		cp_diags_print(&diags, stderr);
		if (rc == -EINVAL)
			snprintf(r.message, sizeof(r.message), "%u error%s; policy version %" PRIu64
				 " stays", diags.n, diags.n == 1 ? "" : "s", r.version);
		else
			snprintf(r.message, sizeof(r.message), "%s; policy version %" PRIu64 " stays",
				 strerror(-rc), r.version);
		/* /daitn/info counts refusals too (gw_policy_apply counts the rest). */
		gw_reload_refused(gw, r.errors[0]);
		goto done;
	}
	r.file_version = p->version;
	r.jobs = p->n_jobs;
	r.models = p->n_models;
	r.nodes = p->n_nodes;
	r.tenants = p->n_tenants;
	jobs_diff(cur != NULL ? cur->policy : NULL, p, &r);
	rc = gw_policy_apply(gw, p, err, sizeof(err));
	r.apply_ns = gw_ctl_now_ns() - t3;
	if (rc != 0) {
		cp_policy_free(p);
		r.result = GW_RELOAD_REFUSED;
		dp_proto_text_fit(r.errors[0], sizeof(r.errors[0]), err);
		r.n_errors = 1;
		snprintf(msg, sizeof(msg), "refused: %s", err);
		dp_proto_text_fit(r.message, sizeof(r.message), msg);
		goto done;
	}
	/* gw_policy_apply() owns p now; the tables it published are current. */
	r.gen = gw->gen;
	r.version = r.file_version;
	switched = lcores_wait(gw, r.gen, &r.lcores_late);
	r.result = GW_RELOAD_OK;
done:
	/* A refused reload is done when it is refused; an applied one when the
	 * last lcore runs it (freeing the old version comes after, off the
	 * clock of anything that matters). */
	r.done_mono_ns = switched != 0 ? switched : gw_ctl_now_ns();
	r.total_ns = r.done_mono_ns - t0;
	if (r.result == GW_RELOAD_OK)
		snprintf(r.message, sizeof(r.message), "policy version %" PRIu64 ": %u jobs (%u kept, "
			 "%u added, %u removed), %u models, %.1f ms%s", r.version, r.jobs, r.jobs_kept,
			 r.jobs_added, r.jobs_removed, r.models, (double)r.total_ns / 1e6,
			 r.lcores_late ? "; an lcore was late to switch" : "");
	cp_diags_free(&diags);
	*out = r;
}

/* One reload on the control loop: done, logged, kept as the status. */
static void
reload(struct gw_ctl *c, enum gw_reload_trigger trigger, uint64_t t0)
{
	struct gw_reload_status r;
	char msg[GW_RELOAD_TEXT + 32];

	gw_notify_status("RELOADING=1", "reloading the policy");
	gw_ctl_reload_file(c->gw, c->path, &c->lim, trigger, t0, &r);
	printf("daitn-gw: reload (%s) of %s: %s: %s\n", gw_reload_trigger_name(trigger), c->path,
	       gw_reload_result_name(r.result), r.message);
	status_store(c, &r);
	/* Refused or not, the gateway serves (the old policy stays). */
	snprintf(msg, sizeof(msg), "reload %s: %s", gw_reload_result_name(r.result), r.message);
	gw_notify_status("READY=1", msg);
}

static void
record_start(struct gw_ctl *c, uint64_t t0)
{
	const struct gw_tables *t = c->gw->tables;
	struct gw_reload_status r = { .trigger = GW_RELOAD_START, .result = GW_RELOAD_OK,
		.at_ms = wall_ms() - (int64_t)((gw_ctl_now_ns() - t0) / 1000000) };

	if (t != NULL) {
		r.version = r.file_version = t->version;
		r.gen = t->gen;
		r.jobs = r.jobs_added = t->policy->n_jobs;
		r.models = t->policy->n_models;
		r.nodes = t->policy->n_nodes;
		r.tenants = t->policy->n_tenants;
	}
	r.done_mono_ns = gw_ctl_now_ns();
	r.total_ns = r.done_mono_ns - t0;
	snprintf(r.message, sizeof(r.message), "policy version %" PRIu64 " loaded at start-up",
		 r.version);
	status_store(c, &r);
}

void
gw_ctl_status_read(struct gw_ctl *c, struct gw_reload_status *last, struct gw_ctl_counts *counts)
{
	pthread_mutex_lock(&c->lock);
	if (last != NULL)
		*last = c->last;
	if (counts != NULL)
		*counts = c->counts;
	pthread_mutex_unlock(&c->lock);
}

void
gw_ctl_request_reload(struct gw_ctl *c, unsigned timeout_ms, struct gw_reload_status *out)
{
	uint64_t one = 1, mine;
	struct timespec deadline;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	if (c->req_seq == c->served_seq)
		c->req_first_ns = gw_ctl_now_ns();
	mine = ++c->req_seq;
	pthread_mutex_unlock(&c->lock);
	if (write(c->efd, &one, sizeof(one)) != sizeof(one))
		GW_LOG(ERR, "cannot signal the main thread for a reload: %s\n", strerror(errno));
	pthread_mutex_lock(&c->lock);
	while (c->served_seq < mine && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&c->done, &c->lock, &deadline);
	*out = c->last;
	pthread_mutex_unlock(&c->lock);
	if (rc == ETIMEDOUT) {
		memset(out, 0, sizeof(*out));
		out->trigger = GW_RELOAD_TELEMETRY;
		out->result = GW_RELOAD_TIMEOUT;
		snprintf(out->message, sizeof(out->message), "no answer from the main thread "
			 "within %u ms; the reload may still complete (see /daitn/last_reload)",
			 timeout_ms);
	}
}

/* The telemetry requests pending now are served by a reload starting now. */
static void
serve_requests(struct gw_ctl *c)
{
	uint64_t v, upto, t0;

	if (read(c->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		GW_LOG(ERR, "eventfd: %s\n", strerror(errno));
	pthread_mutex_lock(&c->lock);
	upto = c->req_seq;
	t0 = c->req_first_ns;
	pthread_mutex_unlock(&c->lock);
	if (upto == c->served_seq)
		return;
	reload(c, GW_RELOAD_TELEMETRY, t0);
	pthread_mutex_lock(&c->lock);
	c->served_seq = upto;
	if (c->req_seq != upto)
		c->req_first_ns = gw_ctl_now_ns();
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

/* Drain the inotify queue. Returns true if the watched file was written or
 * replaced (a reload is due); logs its removal. */
static bool
inotify_drain(struct gw_ctl *c)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool due = false;
	ssize_t n;

	while ((n = read(c->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				due = true;
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				printf("daitn-gw: the policy folder %s went away: no more reloads on file "
				       "changes (SIGHUP and daitnctl reload still work)\n", c->dir);
				close(c->ifd);
				c->ifd = -1;
				return false;
			}
			if (ev->len == 0 || strcmp(ev->name, c->base) != 0)
				continue;
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB))
				due = true;
			else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				printf("daitn-gw: %s was removed; policy version %" PRIu64 " keeps "
				       "running until a new file appears\n", c->path,
				       c->gw->tables != NULL ? c->gw->tables->version : 0);
		}
	}
	return due;
}

static uint64_t
live_period_ns(const struct gw *gw)
{
	uint64_t ns = gw->tables != NULL ? gw->tables->policy->node_timeout_ms * 250000ull
					 : 250000000ull;

	return ns < 5000000ull ? 5000000ull : ns > 250000000ull ? 250000000ull : ns;
}

int
gw_ctl_run(struct gw_ctl *c)
{
	uint64_t now = gw_ctl_now_ns(), next_live = now, next_house = now + GW_CTL_HOUSEKEEPING_NS;
	uint64_t next_stats = now + c->stats_interval * 1000000000ull;
	uint64_t pending = 0, pending_first = 0;    /* inotify: reload at, burst start */

	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = c->sfd, .events = POLLIN },
			{ .fd = c->efd, .events = POLLIN },
			{ .fd = c->ifd, .events = POLLIN },
		};
		uint64_t next = next_live < next_house ? next_live : next_house;
		int timeout_ms;

		if (c->stats_interval != 0 && next_stats < next)
			next = next_stats;
		if (pending != 0 && pending < next)
			next = pending;
		now = gw_ctl_now_ns();
		timeout_ms = next > now ? (int)((next - now + 999999) / 1000000) : 0;
		if (poll(fds, c->ifd >= 0 ? 3 : 2, timeout_ms) < 0 && errno != EINTR) {
			GW_LOG(ERR, "poll: %s\n", strerror(errno));
			return SIGTERM;
		}
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(c->sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
					printf("daitn-gw: %s: stopping\n",
					       si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
					return (int)si.ssi_signo;
				}
				if (si.ssi_signo == SIGHUP)
					reload(c, GW_RELOAD_SIGHUP, gw_ctl_now_ns());
			}
		}
		if (fds[1].revents & POLLIN)
			serve_requests(c);
		if (c->ifd >= 0 && (fds[2].revents & POLLIN) && inotify_drain(c)) {
			now = gw_ctl_now_ns();
			if (pending == 0)
				pending_first = now;
			/* Quiet period: a writer's rename and attribute change (or
			 * a burst of writes) make one reload, but never a stall. */
			pending = now + c->debounce_ns;
			if (pending > pending_first + GW_CTL_DEBOUNCE_MAX * c->debounce_ns)
				pending = pending_first + GW_CTL_DEBOUNCE_MAX * c->debounce_ns;
		}
		now = gw_ctl_now_ns();
		if (pending != 0 && now >= pending) {
			pending = 0;
			reload(c, GW_RELOAD_INOTIFY, pending_first);
		}
		if (now >= next_live) {
			pthread_mutex_lock(&c->gw->ctl_lock);
			gw_cp_live_update(c->gw);
			pthread_mutex_unlock(&c->gw->ctl_lock);
			next_live = now + live_period_ns(c->gw);
		}
		if (now >= next_house) {
			gw_housekeeping(c->gw);
			next_house = now + GW_CTL_HOUSEKEEPING_NS;
		}
		if (c->stats_interval != 0 && now >= next_stats) {
			gw_stats_print(c->gw, stdout);
			next_stats = now + c->stats_interval * 1000000000ull;
		}
	}
}

/* The policy's absolute path, with its folder resolved but not the file
 * itself: a symlink swapped for another one is a change of the file. */
/* The policy's absolute path, its folder and its name, with the folder
 * resolved but not the file itself: a symlink swapped for another one is a
 * change of the file. */
static int
path_split(struct gw_ctl *c, const char *path)
{
	char *copy = strdup(path), *copy2 = strdup(path);
	int rc = 0;

	if (copy == NULL || copy2 == NULL) {
		rc = -ENOMEM;
	} else if (realpath(dirname(copy), c->dir) == NULL) {
		rc = -errno;
	} else {
		snprintf(c->base, sizeof(c->base), "%s", basename(copy2));
		if ((size_t)snprintf(c->path, sizeof(c->path), "%s/%s",
				     strcmp(c->dir, "/") == 0 ? "" : c->dir, c->base) >= sizeof(c->path))
			rc = -ENAMETOOLONG;
	}
	free(copy);
	free(copy2);
	return rc;
}

static int
watch_open(struct gw_ctl *c)
{
	c->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->ifd < 0)
		return -errno;
	/* The folder, not the file: editors and deployment tools replace the
	 * file by renaming a new one over it, which a watch on the old inode
	 * would never see. */
	if (inotify_add_watch(c->ifd, c->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE |
			      IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		int rc = -errno;

		close(c->ifd);
		c->ifd = -1;
		return rc;
	}
	return 0;
}

/* Fill the parse cache from the file the gateway started with, so that
 * the first reload is as quick as the ones after it. */
static void
cache_warm(struct gw_ctl *c)
{
	struct cp_diags diags = { 0 };
	struct cp_policy *p = NULL;
	char *text;
	size_t len;

	if (cp_json_file_read(c->path, &text, &len) != 0)
		return;
	cp_policy_parse_cached(text, len, c->path, &c->lim, c->gw->cp->jcache, &p, &diags);
	cp_policy_free(p);
	cp_diags_free(&diags);
	free(text);
}

struct gw_ctl *
gw_ctl_create(struct gw *gw, const struct gw_ctl_conf *conf, uint64_t start_ns)
{
	struct gw_ctl *c = calloc(1, sizeof(*c));
	const char *deb = getenv("DAITN_RELOAD_DEBOUNCE_MS");
	pthread_condattr_t ca;
	int rc;

	if (c == NULL) {
		fprintf(stderr, "daitn-gw: out of memory for the control loop\n");
		return NULL;
	}
	c->gw = gw;
	c->cfg = conf->cfg;
	c->sfd = c->ifd = c->efd = -1;
	c->stats_interval = conf->stats_interval;
	cp_limits_from_config(conf->cfg, &c->lim);
	c->debounce_ns = GW_CTL_DEBOUNCE_MS * 1000000ull;
	if (deb != NULL) {
		char *end;
		unsigned long ms = strtoul(deb, &end, 10);

		if (*deb == '\0' || *end != '\0' || ms > 10000) {
			fprintf(stderr, "daitn-gw: DAITN_RELOAD_DEBOUNCE_MS=\"%s\": want 0 .. 10000 "
				"milliseconds\n", deb);
			goto free_ctl;
		}
		c->debounce_ns = ms * 1000000ull;
	}
	rc = path_split(c, conf->policy_path);
	if (rc != 0) {
		fprintf(stderr, "daitn-gw: %s: %s\n", conf->policy_path, strerror(-rc));
		goto free_ctl;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done, &ca);
	pthread_condattr_destroy(&ca);
	c->sfd = signalfd(-1, &conf->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->sfd < 0 || c->efd < 0) {
		fprintf(stderr, "daitn-gw: cannot create the control loop's signalfd/eventfd: %s\n",
			strerror(errno));
		goto close_fds;
	}
	if (conf->cfg->watch_policy) {
		rc = watch_open(c);
		if (rc != 0)
			fprintf(stderr, "daitn-gw: cannot watch %s for changes (%s); reload with "
				"SIGHUP or daitnctl reload\n", c->dir, strerror(-rc));
	}
	cache_warm(c);
	record_start(c, start_ns);
	gw->cp->ctl = c;
	return c;

close_fds:
	if (c->sfd >= 0)
		close(c->sfd);
	if (c->efd >= 0)
		close(c->efd);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
free_ctl:
	free(c);
	return NULL;
}

void
gw_ctl_destroy(struct gw_ctl *c)
{
	if (c == NULL)
		return;
	/* Telemetry threads may still hold c (their commands cannot be
	 * unregistered in DPDK 22.11): keep the memory, close what the main
	 * thread owned and answer no more requests. */
	if (c->ifd >= 0)
		close(c->ifd);
	close(c->sfd);
	c->ifd = c->sfd = -1;
}
