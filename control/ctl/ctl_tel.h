/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_tel: daitnctl's client for the gateway's DPDK telemetry socket
 * (docs/telemetry.md), the one the stock dpdk-telemetry.py reads:
 * <runtime dir>/dpdk/<file prefix>/dpdk_telemetry.v2, SOCK_SEQPACKET, one
 * JSON message per command. The runtime dir is $RUNTIME_DIRECTORY, else
 * /var/run for root and $XDG_RUNTIME_DIR (or /tmp) for others, as the EAL
 * chooses it.
 *
 * Options every gateway subcommand takes (parsed by ctl_tel_opt):
 *   -f, --prefix PREFIX   the gateway's --file-prefix (default
 *                         $DAITN_FILE_PREFIX, else the only DPDK process
 *                         with a telemetry socket)
 *   -s, --socket PATH     the socket itself
 *       --json           print the raw replies, one JSON object per line
 *   -t, --timeout SEC     wait this long for a reply (default 15)
 */
#ifndef CTL_TEL_H
#define CTL_TEL_H

#include <stdbool.h>
#include <limits.h>

#include <jansson.h>

struct ctl_tel {
	char path[PATH_MAX];
	const char *prefix;
	const char *socket;
	bool json;
	unsigned timeout_s;
	int fd;
	size_t max_len;
};

/* getopt_long options and short string for the common options. */
#define CTL_TEL_SHORTOPTS "f:s:t:h"
#define CTL_TEL_LONGOPTS                                        \
	{ "prefix", required_argument, NULL, 'f' },             \
	{ "socket", required_argument, NULL, 's' },             \
	{ "json", no_argument, NULL, 'j' },                      \
	{ "timeout", required_argument, NULL, 't' },            \
	{ "help", no_argument, NULL, 'h' }

#define CTL_TEL_USAGE                                                            \
	"  -f, --prefix PREFIX  the gateway's DPDK --file-prefix (default\n"        \
	"                       $DAITN_FILE_PREFIX, else the only DPDK process\n"   \
	"                       with a telemetry socket)\n"                        \
	"  -s, --socket PATH    the telemetry socket itself\n"                     \
	"      --json           print the raw telemetry replies, one per line\n"   \
	"  -t, --timeout SEC    wait this long for an answer (default 15)\n"

void ctl_tel_init(struct ctl_tel *t);

/* Parse a gateway subcommand's arguments (only the common options; no
 * operands) and connect. Returns -1 to go on, else the exit status to
 * return (after --help: CTL_EXIT_OK). usage: the text for --help. */
int ctl_tel_start(struct ctl_tel *t, int argc, char **argv, const char *usage);

/* Handle one of the common options (opt as getopt_long returned it).
 * Returns 1 if it was one, 0 if not, -1 on a bad value (message printed). */
int ctl_tel_opt(struct ctl_tel *t, int opt, const char *arg);

/* Find the socket and connect. Returns 0, or the exit status to use
 * (CTL_EXIT_UNREACHABLE / CTL_EXIT_USAGE) with a message naming the path. */
int ctl_tel_connect(struct ctl_tel *t);

/* Send cmd ("/daitn/nodes,64") and return the reply's value for it (the
 * object under the command's name; borrowed from *root, which the caller
 * json_decref()s). NULL with a message if there is no answer, the reply is
 * malformed, or the gateway refused the command (unknown, bad parameter).
 * With --json the raw reply is printed. */
json_t *ctl_tel_query(struct ctl_tel *t, const char *cmd, json_t **root);

void ctl_tel_close(struct ctl_tel *t);

/* Helpers for reading replies: a member as an integer (0 if absent), a
 * string ("" if absent), element i of member array name. */
long long ctl_tel_int(const json_t *o, const char *name);
const char *ctl_tel_str(const json_t *o, const char *name);
long long ctl_tel_arr_int(const json_t *o, const char *name, size_t i);
const char *ctl_tel_arr_str(const json_t *o, const char *name, size_t i);
size_t ctl_tel_arr_len(const json_t *o, const char *name);

/* "12.3k", "4.5M": a count for a narrow column. buf needs 16 bytes. */
const char *ctl_tel_human(unsigned long long v, char *buf, size_t size);

#endif /* CTL_TEL_H */
