/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The telemetry client behind the gateway subcommands (ctl_tel.h).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_tel.h"

#define SOCK_NAME "dpdk_telemetry.v2"

void
ctl_tel_init(struct ctl_tel *t)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->timeout_s = 15;
	t->prefix = getenv("DAITN_FILE_PREFIX");
}

int
ctl_tel_opt(struct ctl_tel *t, int opt, const char *arg)
{
	char *end;
	unsigned long v;

	switch (opt) {
	case 'f':
		t->prefix = arg;
		return 1;
	case 's':
		t->socket = arg;
		return 1;
	case 'j':
		t->json = true;
		return 1;
	case 't':
		v = strtoul(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || v == 0 || v > 3600) {
			fprintf(stderr, "daitnctl: --timeout \"%s\": want 1 .. 3600 seconds\n", arg);
			return -1;
		}
		t->timeout_s = (unsigned)v;
		return 1;
	default:
		return 0;
	}
}

int
ctl_tel_start(struct ctl_tel *t, int argc, char **argv, const char *usage)
{
	static const struct option opts[] = { CTL_TEL_LONGOPTS, { NULL, 0, NULL, 0 } };
	int opt, rc;

	ctl_tel_init(t);
	while ((opt = getopt_long(argc, argv, CTL_TEL_SHORTOPTS, opts, NULL)) != -1) {
		if (opt == 'h') {
			printf("%s" CTL_TEL_USAGE, usage);
			return CTL_EXIT_OK;
		}
		rc = ctl_tel_opt(t, opt, optarg);
		if (rc <= 0) {
			fprintf(stderr, "%s" CTL_TEL_USAGE, usage);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "daitnctl: unexpected argument \"%s\"\n%s" CTL_TEL_USAGE, argv[optind],
			usage);
		return CTL_EXIT_USAGE;
	}
	rc = ctl_tel_connect(t);
	return rc == 0 ? -1 : rc;
}

static void
runtime_base(char *buf, size_t size)
{
	const char *d = getenv("RUNTIME_DIRECTORY");

	if (d == NULL || *d == '\0')
		d = getuid() == 0 ? "/var/run" : getenv("XDG_RUNTIME_DIR");
	if (d == NULL || *d == '\0')
		d = "/tmp";
	snprintf(buf, size, "%s/dpdk", d);
}

/* No prefix given: the only DPDK process with a telemetry socket, if
 * there is exactly one. */
static int
prefix_guess(struct ctl_tel *t, const char *base)
{
	DIR *dir = opendir(base);
	struct dirent *e;
	unsigned n = 0;
	char found[PATH_MAX + 320] = "", list[1024] = "";

	if (dir == NULL) {
		fprintf(stderr, "daitnctl: no DPDK process runs here (%s: %s); start the gateway, or "
			"name it with --prefix\n", base, strerror(errno));
		return CTL_EXIT_UNREACHABLE;
	}
	while ((e = readdir(dir)) != NULL) {
		char p[PATH_MAX + 320];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/" SOCK_NAME, base, e->d_name);
		if (stat(p, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		if (n++ == 0)
			snprintf(found, sizeof(found), "%s", p);
		if (strlen(list) + strlen(e->d_name) + 3 < sizeof(list)) {
			strcat(list, " ");
			strcat(list, e->d_name);
		}
	}
	closedir(dir);
	if (n == 1 && strlen(found) < sizeof(t->path)) {
		memcpy(t->path, found, strlen(found) + 1);
		return 0;
	}
	if (n == 0)
		fprintf(stderr, "daitnctl: no telemetry socket under %s: is daitn-gw running? "
			"(name it with --prefix PREFIX)\n", base);
	else
		fprintf(stderr, "daitnctl: %u DPDK processes have a telemetry socket under %s;"
			" choose one with --prefix:%s\n", n, base, list);
	return CTL_EXIT_UNREACHABLE;
}

int
ctl_tel_connect(struct ctl_tel *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = t->timeout_s };
	char base[PATH_MAX - 64], hello[1024];
	json_t *info;
	ssize_t n;
	int rc;

	runtime_base(base, sizeof(base));
	if (t->socket != NULL) {
		snprintf(t->path, sizeof(t->path), "%s", t->socket);
	} else if (t->prefix != NULL && *t->prefix != '\0') {
		snprintf(t->path, sizeof(t->path), "%s/%s/" SOCK_NAME, base, t->prefix);
	} else {
		rc = prefix_guess(t, base);
		if (rc != 0)
			return rc;
	}
	if (strlen(t->path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "daitnctl: socket path too long for a UNIX socket: %s\n", t->path);
		return CTL_EXIT_USAGE;
	}
	strcpy(sa.sun_path, t->path);
	t->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		fprintf(stderr, "daitnctl: socket: %s\n", strerror(errno));
		return CTL_EXIT_USAGE;
	}
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "daitnctl: cannot connect to the gateway's telemetry socket %s: %s\n"
			"  (is daitn-gw running%s%s? its file prefix is the --file-prefix it was "
			"started with; daitnctl --prefix PREFIX)\n", t->path, strerror(errno),
			t->prefix ? " with --file-prefix " : "", t->prefix ? t->prefix : "");
		ctl_tel_close(t);
		return CTL_EXIT_UNREACHABLE;
	}
	/* The server speaks first: its version, pid and reply size limit. */
	n = recv(t->fd, hello, sizeof(hello) - 1, 0);
	if (n <= 0) {
		fprintf(stderr, "daitnctl: %s: no greeting from the gateway: %s\n", t->path,
			n == 0 ? "connection closed (too many clients?)" : strerror(errno));
		ctl_tel_close(t);
		return CTL_EXIT_UNREACHABLE;
	}
	hello[n] = '\0';
	info = json_loads(hello, 0, NULL);
	t->max_len = 16384;
	if (info != NULL && json_integer_value(json_object_get(info, "max_output_len")) > 0)
		t->max_len = (size_t)json_integer_value(json_object_get(info, "max_output_len"));
	json_decref(info);
	return 0;
}

json_t *
ctl_tel_query(struct ctl_tel *t, const char *cmd, json_t **root)
{
	char *buf = malloc(t->max_len + 1), name[128];
	json_error_t jerr;
	json_t *v;
	ssize_t n;

	*root = NULL;
	if (buf == NULL) {
		fprintf(stderr, "daitnctl: out of memory\n");
		return NULL;
	}
	if (send(t->fd, cmd, strlen(cmd), 0) < 0) {
		fprintf(stderr, "daitnctl: %s: cannot send %s: %s\n", t->path, cmd, strerror(errno));
		goto fail;
	}
	n = recv(t->fd, buf, t->max_len, 0);
	if (n <= 0) {
		fprintf(stderr, "daitnctl: %s: no answer to %s within %u s: %s\n", t->path, cmd,
			t->timeout_s, n == 0 ? "connection closed" : strerror(errno));
		goto fail;
	}
	buf[n] = '\0';
	if (t->json)
		printf("%s\n", buf);
	*root = json_loads(buf, 0, &jerr);
	if (*root == NULL) {
		fprintf(stderr, "daitnctl: %s: malformed reply to %s: %s\n", t->path, cmd, jerr.text);
		goto fail;
	}
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(cmd, ","), cmd);
	v = json_object_get(*root, name);
	if (v == NULL || json_is_null(v)) {
		fprintf(stderr, "daitnctl: the gateway answered %s with no data: an unknown command "
			"(an older gateway?) or a bad parameter\n", cmd);
		goto fail;
	}
	free(buf);
	return v;

fail:
	json_decref(*root);
	*root = NULL;
	free(buf);
	return NULL;
}

void
ctl_tel_close(struct ctl_tel *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

long long
ctl_tel_int(const json_t *o, const char *name)
{
	return json_integer_value(json_object_get(o, name));
}

const char *
ctl_tel_str(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "";
}

long long
ctl_tel_arr_int(const json_t *o, const char *name, size_t i)
{
	return json_integer_value(json_array_get(json_object_get(o, name), i));
}

const char *
ctl_tel_arr_str(const json_t *o, const char *name, size_t i)
{
	const char *s = json_string_value(json_array_get(json_object_get(o, name), i));

	return s != NULL ? s : "";
}

size_t
ctl_tel_arr_len(const json_t *o, const char *name)
{
	return json_array_size(json_object_get(o, name));
}

const char *
ctl_tel_human(unsigned long long v, char *buf, size_t size)
{
	static const char units[] = "kMGTPE";
	double x = (double)v;
	int u = -1;

	if (v < 100000) {
		snprintf(buf, size, "%llu", v);
		return buf;
	}
	while (x >= 1000 && u < 5) {
		x /= 1000;
		u++;
	}
	snprintf(buf, size, "%.*f%c", x < 10 ? 2 : x < 100 ? 1 : 0, x, units[u]);
	return buf;
}
