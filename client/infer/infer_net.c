/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What both roles of daitn-infer share (infer_priv.h): the stop flag and
 * its signal handlers, address parsing and the UDP socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "infer_priv.h"

/* Written by the signal handler: C11 7.14.1.1 lets a handler store to a
 * lock-free atomic object, and shared flags are C11 atomics here. */
_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2, "infer_stop must be lock-free");
atomic_bool infer_stop;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&infer_stop, true, memory_order_relaxed);
}

void
infer_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
infer_parse_addr(const char *arg, struct sockaddr_in *sin, bool port_required)
{
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
	char ip[INET_ADDRSTRLEN];
	unsigned long p;
	char *end;

	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, arg, n);
	ip[n] = '\0';
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
		return -1;
	if (colon == NULL)
		return port_required ? -1 : 0;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p == 0 || p > 65535)
		return -1;
	sin->sin_port = htons((uint16_t)p);
	return 0;
}

int
infer_socket(const struct sockaddr_in *bind_addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int size = 4 << 20;
	char ip[INET_ADDRSTRLEN];

	if (fd < 0) {
		fprintf(stderr, "daitn-infer: socket: %s\n", strerror(errno));
		return -1;
	}
	/* Bursts of fragments must not overflow the default 208 KiB buffers;
	 * the FORCE variants need CAP_NET_ADMIN, the plain ones are capped. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, (const struct sockaddr *)bind_addr, sizeof(*bind_addr)) != 0) {
		inet_ntop(AF_INET, &bind_addr->sin_addr, ip, sizeof(ip));
		fprintf(stderr, "daitn-infer: bind %s:%u: %s (is the address on this host "
			"and the port free?)\n", ip, ntohs(bind_addr->sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
