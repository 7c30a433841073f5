/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dp_proto.h"
#include "gw_notify.h"

int
gw_notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t salen;
	size_t n;
	int fd, rc = 0;

	if (name == NULL || name[0] == '\0')
		return 0;
	n = strlen(name);
	/* A path needs its NUL inside sun_path; an abstract name does not,
	 * but has at least one byte after the '@'. */
	if (name[0] == '/' ? n >= sizeof(sa.sun_path)
			   : name[0] != '@' || n < 2 || n > sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, name, n);
	/* An abstract name: a leading NUL, not NUL-terminated. */
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Never wait for a manager that does not read: the control loop must
	 * not stall (a full queue is a failure, logged once). */
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa,
		   salen) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
gw_notify_status(const char *state, const char *text)
{
	static bool complained;     /* the main thread only */
	char buf[512], line[384];
	struct timespec ts;
	size_t i;
	int n;

	/* Cut, if ever, at a character boundary with a marker. */
	dp_proto_text_fit(line, sizeof(line), text);
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	n = snprintf(buf, sizeof(buf), "%s\nSTATUS=%s", state, line);
	if (strstr(state, "RELOADING=1") != NULL && n > 0 && (size_t)n < sizeof(buf)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(buf + n, sizeof(buf) - (size_t)n, "\nMONOTONIC_USEC=%" PRIu64,
			 (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	}
	n = gw_notify_send(buf);
	if (n < 0 && !complained) {
		complained = true;
		fprintf(stderr, "daitn-gw: cannot notify the service manager at NOTIFY_SOCKET=%s: "
			"%s; the gateway runs on\n", getenv("NOTIFY_SOCKET"), strerror(-n));
	}
	return n;
}
