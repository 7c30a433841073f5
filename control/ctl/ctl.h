/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daitnctl internals: one entry point per subcommand, each in its own file
 * (ctl_<name>.c), dispatched by daitnctl.c. A subcommand gets argv with its
 * own name in argv[0] and returns the process exit status.
 */
#ifndef CTL_H
#define CTL_H

/* Exit statuses every subcommand uses, for scripts. */
#define CTL_EXIT_OK 0        /* done; for validate: the files are valid */
#define CTL_EXIT_INVALID 1   /* the files were read and are invalid */
#define CTL_EXIT_USAGE 2     /* bad arguments, unreadable file, no memory */
#define CTL_EXIT_UNREACHABLE 3  /* no gateway answers on the telemetry socket */

struct ctl_cmd {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *args;    /* synopsis after the name */
	const char *help;    /* one line */
};

int ctl_validate_main(int argc, char **argv);

/* Subcommands that talk to a running gateway (ctl_tel.h). */
int ctl_status_main(int argc, char **argv);
int ctl_reload_main(int argc, char **argv);
int ctl_jobs_main(int argc, char **argv);
int ctl_nodes_main(int argc, char **argv);
int ctl_stats_main(int argc, char **argv);

/* ctl_status.c: print a reload's outcome (telemetry keys with prefix). */
struct json_t;
void ctl_reload_print(const struct json_t *o, const char *prefix);

#endif /* CTL_H */
