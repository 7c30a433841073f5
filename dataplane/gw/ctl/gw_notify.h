/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_notify: tells a service manager how the gateway is doing, with the
 * readiness protocol of sd_notify(3), without libsystemd.
 *
 * When $NOTIFY_SOCKET names a Unix datagram socket (a path, or an abstract
 * name written with a leading '@'), each call sends one datagram of
 * newline-separated VARIABLE=VALUE assignments to it; daitn-gw sends
 * READY=1 once its ports, lcores, telemetry and control loop run,
 * RELOADING=1 then READY=1 around every policy reload, and STOPPING=1 when
 * it stops, each with a STATUS= line for people (docs/telemetry.md). Without
 * $NOTIFY_SOCKET a call does nothing.
 *
 * Threads: the main thread (the control loop) only; not async-signal-safe.
 */
#ifndef GW_NOTIFY_H
#define GW_NOTIFY_H

/* Send STATE ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET, without waiting.
 * Returns 0 when sent or when $NOTIFY_SOCKET is unset or empty, -EINVAL when
 * it is not a usable socket name (not absolute, a bare '@', or too long), or
 * the negative errno of socket()/sendto() (-EAGAIN: the manager's queue is
 * full). The gateway runs on without a manager's view. */
int gw_notify_send(const char *state);

/* Like gw_notify_send(), with STATUS=TEXT appended (TEXT on one line:
 * newlines become spaces; over 383 bytes it is cut as dp_proto_text_fit()
 * cuts) and, for RELOADING=1, MONOTONIC_USEC= as newer
 * service managers expect. The first failure is logged on stderr. */
int gw_notify_status(const char *state, const char *text);

#endif /* GW_NOTIFY_H */
