/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cp_diag.h"

static void
copy_trunc(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int
cp_diags_add(struct cp_diags *d, const char *file, int line, int col,
	     const char *path, const char *fmt, ...)
{
	struct cp_diag *g;
	va_list ap;

	if (d->n == d->cap) {
		unsigned cap = d->cap != 0 ? d->cap * 2 : 16;
		struct cp_diag *v = realloc(d->v, (size_t)cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	g = &d->v[d->n++];
	copy_trunc(g->file, sizeof(g->file), file);
	/* jansson reports column 0 at the end of a file; people count from 1. */
	g->line = line > 0 ? line : 0;
	g->col = line > 0 ? (col > 0 ? col : 1) : 0;
	copy_trunc(g->path, sizeof(g->path), path);
	va_start(ap, fmt);
	vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
	va_end(ap);
	/* Keys and values quoted from a file may hold newlines or escapes;
	 * one diagnostic must stay one line on a terminal and in a log. */
	sanitize(g->path);
	sanitize(g->msg);
	return 0;
}

int
cp_diag_format(const struct cp_diag *g, char *buf, size_t size)
{
	char pos[32] = "";

	if (g->line > 0)
		snprintf(pos, sizeof(pos), ":%d:%d", g->line, g->col);
	return snprintf(buf, size, "%s%s: %s%s%s", g->file, pos, g->path,
			g->path[0] != '\0' ? ": " : "", g->msg);
}

void
cp_diags_print(const struct cp_diags *d, FILE *out)
{
	char buf[CP_DIAG_FILE_MAX + CP_DIAG_PATH_MAX + CP_DIAG_MSG_MAX + 40];

	for (unsigned i = 0; i < d->n; i++) {
		cp_diag_format(&d->v[i], buf, sizeof(buf));
		fprintf(out, "%s\n", buf);
	}
}

struct diag_key {
	int line;
	int col;
	unsigned idx;
};

static int
diag_key_cmp(const void *pa, const void *pb)
{
	const struct diag_key *a = pa, *b = pb;

	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	/* qsort is not stable; the original index makes it so, keeping errors
	 * found at one position in the order they were found. */
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int
cp_diags_sort(struct cp_diags *d, unsigned from)
{
	unsigned n = from < d->n ? d->n - from : 0;
	struct diag_key *k;
	struct cp_diag *v;

	if (n < 2)
		return 0;
	k = malloc((size_t)n * sizeof(*k));
	v = malloc((size_t)n * sizeof(*v));
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		k[i] = (struct diag_key){ d->v[from + i].line, d->v[from + i].col, i };
	qsort(k, n, sizeof(*k), diag_key_cmp);
	for (unsigned i = 0; i < n; i++)
		v[i] = d->v[from + k[i].idx];
	memcpy(&d->v[from], v, (size_t)n * sizeof(*v));
	free(k);
	free(v);
	return 0;
}

void
cp_diags_clear(struct cp_diags *d)
{
	d->n = 0;
}

void
cp_diags_free(struct cp_diags *d)
{
	free(d->v);
	d->v = NULL;
	d->n = 0;
	d->cap = 0;
}
