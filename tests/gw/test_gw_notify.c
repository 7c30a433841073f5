/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suite gw_notify: the service manager's readiness protocol (sd_notify(3)):
 * nothing without $NOTIFY_SOCKET, a clear error for a name that is not a
 * socket, one datagram per call to a path or an abstract socket, STATUS on
 * one line, MONOTONIC_USEC with RELOADING=1, and never a wait on a manager
 * that does not read. No EAL.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../tu_main.h"

#include "gw_notify.h"

/* A datagram socket bound to NAME ('@' for abstract), or -1. */
static int
listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	if (bind(fd, (struct sockaddr *)&sa, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next datagram on FD, NUL-terminated, without waiting. */
static ssize_t
take(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static void
test_bad_socket_names_are_refused(void)
{
	char longname[200];

	CU_ASSERT_EQUAL(setenv("NOTIFY_SOCKET", "relative/path", 1), 0);
	CU_ASSERT_EQUAL(gw_notify_send("READY=1"), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_EQUAL(setenv("NOTIFY_SOCKET", longname, 1), 0);
	CU_ASSERT_EQUAL(gw_notify_send("READY=1"), -EINVAL);
	/* A bare '@' names no abstract socket. */
	CU_ASSERT_EQUAL(setenv("NOTIFY_SOCKET", "@", 1), 0);
	CU_ASSERT_EQUAL(gw_notify_send("READY=1"), -EINVAL);
	/* A path where no one listens: the error of sendto(), passed up. */
	CU_ASSERT_EQUAL(setenv("NOTIFY_SOCKET", "/nonexistent-daitn-dir/notify", 1), 0);
	CU_ASSERT_EQUAL(gw_notify_send("READY=1"), -ENOENT);
}

static void
test_no_socket_means_nothing_to_do(void)
{
	CU_ASSERT_EQUAL(unsetenv("NOTIFY_SOCKET"), 0);
	CU_ASSERT_EQUAL(gw_notify_send("READY=1"), 0);
	CU_ASSERT_EQUAL(setenv("NOTIFY_SOCKET", "", 1), 0);
	CU_ASSERT_EQUAL(gw_notify_status("READY=1", "x"), 0);
}

static void
test_path_socket_gets_one_datagram_per_call(void)
{
	char path[64], buf[1024];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_gw_notify.%d", (int)getpid());
	unlink(path);
	fd = listener(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(setenv("NOTIFY_SOCKET", path, 1), 0);
	CU_ASSERT_EQUAL(gw_notify_status("READY=1", "running:\ntwo lines"), 0);
	CU_ASSERT(take(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "READY=1\nSTATUS=running: two lines");
	CU_ASSERT_EQUAL(gw_notify_status("RELOADING=1", "reloading"), 0);
	CU_ASSERT(take(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_EQUAL(strncmp(buf, "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=", 44), 0);
	CU_ASSERT(strlen(buf) > 44);
	CU_ASSERT_EQUAL(gw_notify_send("STOPPING=1"), 0);
	CU_ASSERT(take(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "STOPPING=1");
	CU_ASSERT(take(fd, buf, sizeof(buf)) < 0);  /* one datagram each */
	close(fd);
	unlink(path);
}

static void
test_long_status_is_cut_with_a_marker(void)
{
	char path[64], buf[1024], text[600];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_gw_notify_l.%d", (int)getpid());
	unlink(path);
	fd = listener(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(setenv("NOTIFY_SOCKET", path, 1), 0);
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	CU_ASSERT_EQUAL(gw_notify_status("READY=1", text), 0);
	CU_ASSERT(take(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT(strlen(buf) < 400);
	CU_ASSERT(strcmp(buf + strlen(buf) - 4, "x...") == 0);
	close(fd);
	unlink(path);
}

static void
test_abstract_socket_is_reached(void)
{
	char name[64], buf[256];
	int fd;

	snprintf(name, sizeof(name), "@test_gw_notify.%d", (int)getpid());
	fd = listener(name);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(setenv("NOTIFY_SOCKET", name, 1), 0);
	CU_ASSERT_EQUAL(gw_notify_send("READY=1"), 0);
	CU_ASSERT(take(fd, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "READY=1");
	close(fd);
}

static void
test_a_manager_that_does_not_read_never_stalls_the_sender(void)
{
	char name[64];
	int fd, rc = 0, sent;

	snprintf(name, sizeof(name), "@test_gw_notify_full.%d", (int)getpid());
	fd = listener(name);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(setenv("NOTIFY_SOCKET", name, 1), 0);
	/* Nobody reads: the queue fills, and then each send fails at once
	 * instead of waiting (a hang here is the failure). */
	for (sent = 0; sent < 100000 && rc == 0; sent++)
		rc = gw_notify_send("STATUS=filling the queue");
	CU_ASSERT_EQUAL(rc, -EAGAIN);
	CU_ASSERT(sent > 1);
	close(fd);
}

static CU_TestInfo tests[] = {
	{ "bad_socket_names_are_refused", test_bad_socket_names_are_refused },
	{ "no_socket_means_nothing_to_do", test_no_socket_means_nothing_to_do },
	{ "path_socket_gets_one_datagram_per_call", test_path_socket_gets_one_datagram_per_call },
	{ "long_status_is_cut_with_a_marker", test_long_status_is_cut_with_a_marker },
	{ "abstract_socket_is_reached", test_abstract_socket_is_reached },
	{ "a_manager_that_does_not_read_never_stalls_the_sender",
	  test_a_manager_that_does_not_read_never_stalls_the_sender },
	CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_main("gw_notify", tests);
}
