/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_diag: a list of diagnostics for people, each printed as
 *
 *     FILE:LINE:COL: /json/path: reason
 *
 * Loaders collect every error they find (not just the first) into a
 * struct cp_diags. Not thread-safe; one list per load.
 */
#ifndef CP_DIAG_H
#define CP_DIAG_H

#include <stdio.h>

#define CP_DIAG_PATH_MAX 256
#define CP_DIAG_MSG_MAX 256
#define CP_DIAG_FILE_MAX 256

struct cp_diag {
	char file[CP_DIAG_FILE_MAX];
	int line;                      /* 1-based; 0 if unknown */
	int col;                       /* 1-based; 0 if unknown */
	char path[CP_DIAG_PATH_MAX];   /* JSON pointer, "" for the whole file */
	char msg[CP_DIAG_MSG_MAX];
};

struct cp_diags {
	unsigned n;
	unsigned cap;
	struct cp_diag *v;
};

/* Append one diagnostic (printf-style message). Returns 0 or -ENOMEM. */
int cp_diags_add(struct cp_diags *d, const char *file, int line, int col,
		 const char *path, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Print every diagnostic, one per line, in the format above. */
void cp_diags_print(const struct cp_diags *d, FILE *out);

/* Format diagnostic i into buf (for logs and telemetry). */
int cp_diag_format(const struct cp_diag *g, char *buf, size_t size);

/* Order entries from..n-1 by line, then column (stable; entries without a
 * position come first), so a person reads them in file order. Returns 0 or
 * -ENOMEM (the list is then left as it was). */
int cp_diags_sort(struct cp_diags *d, unsigned from);

void cp_diags_clear(struct cp_diags *d);   /* drop entries, keep the list usable */
void cp_diags_free(struct cp_diags *d);

#endif /* CP_DIAG_H */
