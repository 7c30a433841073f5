/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The position index: one pass over text that jansson has already accepted,
 * recording for every value its JSON pointer, the position of its key (for
 * object members) and of its first character. Lookups are a binary search
 * over the pointers, sorted once after the scan.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_json.h"

#define POS_DEPTH_MAX 4096   /* jansson itself stops at 2048 */
#define POS_KEY_MAX 1024     /* longer keys cannot fit a diagnostic path */

struct pos_entry {
	size_t path_off;     /* into pool, while the pool may still move */
	const char *path;    /* set once the scan is done */
	int key_line, key_col;
	int val_line, val_col;
};

struct cp_json_pos_index {
	char *pool;
	size_t pool_len, pool_cap;
	struct pos_entry *v;
	size_t n, cap;
};

struct pos_scan {
	const unsigned char *p, *end;
	int line, col;
	struct cp_json_pos_index *ix;
	size_t path_len;
	bool path_cut;       /* a parent's path overflowed: record nothing below */
	char path[CP_DIAG_PATH_MAX];
	char key[POS_KEY_MAX + 8];
};

static void
scan_advance(struct pos_scan *s)
{
	unsigned char ch = *s->p++;

	if (ch == '\n') {
		s->line++;
		s->col = 0;
	} else if ((ch & 0xc0) != 0x80) {
		s->col++;   /* count code points, not bytes, as jansson does */
	}
}

static void
scan_ws(struct pos_scan *s)
{
	while (s->p < s->end &&
	       (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		scan_advance(s);
}

static int
index_add(struct pos_scan *s, int kl, int kc, int vl, int vc)
{
	struct cp_json_pos_index *ix = s->ix;
	size_t need = s->path_len + 1;

	if (s->path_cut)
		return 0;
	if (ix->n == ix->cap) {
		size_t cap = ix->cap != 0 ? ix->cap * 2 : 256;
		struct pos_entry *v = realloc(ix->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		ix->v = v;
		ix->cap = cap;
	}
	if (ix->pool_len + need > ix->pool_cap) {
		size_t cap = ix->pool_cap != 0 ? ix->pool_cap * 2 : 4096;
		char *pool;

		while (cap < ix->pool_len + need)
			cap *= 2;
		pool = realloc(ix->pool, cap);
		if (pool == NULL)
			return -ENOMEM;
		ix->pool = pool;
		ix->pool_cap = cap;
	}
	memcpy(ix->pool + ix->pool_len, s->path, need);
	ix->v[ix->n++] = (struct pos_entry){ ix->pool_len, NULL, kl, kc, vl, vc };
	ix->pool_len += need;
	return 0;
}

static void
utf8_put(struct pos_scan *s, size_t *n, unsigned long cp)
{
	char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	for (size_t i = 0; i < k && *n < POS_KEY_MAX; i++)
		s->key[(*n)++] = b[i];
}

static int
hex4(const unsigned char *p, unsigned long *out)
{
	unsigned long v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char h = p[i];

		v <<= 4;
		if (h >= '0' && h <= '9')
			v |= h - '0';
		else if (h >= 'a' && h <= 'f')
			v |= h - 'a' + 10;
		else if (h >= 'A' && h <= 'F')
			v |= h - 'A' + 10;
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Scan a string at s->p; with decode, leave its UTF-8 value in s->key (cut
 * at POS_KEY_MAX bytes) and its length in *klen. */
static int
scan_string(struct pos_scan *s, bool decode, size_t *klen)
{
	size_t n = 0;

	scan_advance(s);   /* opening quote */
	while (s->p < s->end && *s->p != '"') {
		unsigned char ch = *s->p;

		if (ch != '\\') {
			if (decode && n < POS_KEY_MAX)
				s->key[n++] = (char)ch;
			scan_advance(s);
			continue;
		}
		if (s->end - s->p < 2)
			return -EINVAL;
		scan_advance(s);
		ch = *s->p;
		scan_advance(s);
		if (ch == 'u') {
			unsigned long cp, lo;

			if (s->end - s->p < 4 || hex4(s->p, &cp) != 0)
				return -EINVAL;
			for (int i = 0; i < 4; i++)
				scan_advance(s);
			if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 &&
			    s->p[0] == '\\' && s->p[1] == 'u' &&
			    hex4(s->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				for (int i = 0; i < 6; i++)
					scan_advance(s);
			}
			if (decode)
				utf8_put(s, &n, cp);
			continue;
		}
		if (decode && n < POS_KEY_MAX) {
			static const char from[] = "\"\\/bfnrt";
			static const char to[] = "\"\\/\b\f\n\r\t";
			const char *e = memchr(from, ch, sizeof(from) - 1);

			if (e == NULL)
				return -EINVAL;
			s->key[n++] = to[e - from];
		}
	}
	if (s->p >= s->end)
		return -EINVAL;
	scan_advance(s);   /* closing quote */
	if (klen != NULL)
		*klen = n;
	return 0;
}

/* Append "/" and token (escaped per RFC 6901) to the path; returns the old
 * length for restoring it. */
static size_t
path_push(struct pos_scan *s, const char *tok, size_t n)
{
	size_t mark = s->path_len;
	size_t len = s->path_len;

	if (s->path_cut)
		return mark;
	if (len + 1 >= sizeof(s->path))
		goto cut;
	s->path[len++] = '/';
	for (size_t i = 0; i < n; i++) {
		const char *esc = tok[i] == '~' ? "~0" : tok[i] == '/' ? "~1" : NULL;
		size_t k = esc != NULL ? 2 : 1;

		if (len + k >= sizeof(s->path))
			goto cut;
		if (esc != NULL)
			memcpy(s->path + len, esc, 2);
		else
			s->path[len] = tok[i];
		len += k;
	}
	s->path[len] = '\0';
	s->path_len = len;
	return mark;
cut:
	s->path_cut = true;
	return mark;
}

static void
path_pop(struct pos_scan *s, size_t mark, bool was_cut)
{
	s->path_len = mark;
	s->path[mark] = '\0';
	s->path_cut = was_cut;
}

static int scan_value(struct pos_scan *s, int kl, int kc, unsigned depth);

/* After a member or an element: the closing bracket ends the container
 * (0), a comma asks for the next one (1), anything else is an error. */
static int
scan_next(struct pos_scan *s, char close)
{
	scan_ws(s);
	if (s->p >= s->end || (*s->p != close && *s->p != ','))
		return -EINVAL;
	scan_advance(s);
	return s->p[-1] == close ? 0 : 1;
}

static int
scan_object(struct pos_scan *s, unsigned depth)
{
	scan_advance(s);   /* { */
	scan_ws(s);
	if (s->p < s->end && *s->p == '}') {
		scan_advance(s);
		return 0;
	}
	for (;;) {
		size_t klen, mark;
		int kl, kc, rc;
		bool was_cut = s->path_cut;

		scan_ws(s);
		if (s->p >= s->end || *s->p != '"')
			return -EINVAL;
		kl = s->line;
		kc = s->col + 1;
		rc = scan_string(s, true, &klen);
		if (rc != 0)
			return rc;
		scan_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return -EINVAL;
		scan_advance(s);
		mark = path_push(s, s->key, klen);
		rc = scan_value(s, kl, kc, depth + 1);
		path_pop(s, mark, was_cut);
		if (rc != 0)
			return rc;
		rc = scan_next(s, '}');
		if (rc <= 0)
			return rc;
	}
}

static int
scan_array(struct pos_scan *s, unsigned depth)
{
	scan_advance(s);   /* [ */
	scan_ws(s);
	if (s->p < s->end && *s->p == ']') {
		scan_advance(s);
		return 0;
	}
	for (size_t i = 0;; i++) {
		char tok[24];
		int n = snprintf(tok, sizeof(tok), "%zu", i);
		bool was_cut = s->path_cut;
		size_t mark = path_push(s, tok, (size_t)n);
		int rc = scan_value(s, 0, 0, depth + 1);

		path_pop(s, mark, was_cut);
		if (rc != 0)
			return rc;
		rc = scan_next(s, ']');
		if (rc <= 0)
			return rc;
	}
}

static int
scan_value(struct pos_scan *s, int kl, int kc, unsigned depth)
{
	int vl, vc, rc;

	if (depth > POS_DEPTH_MAX)
		return -EINVAL;
	scan_ws(s);
	if (s->p >= s->end)
		return -EINVAL;
	vl = s->line;
	vc = s->col + 1;
	rc = index_add(s, kl != 0 ? kl : vl, kl != 0 ? kc : vc, vl, vc);
	if (rc != 0)
		return rc;
	switch (*s->p) {
	case '{':
		return scan_object(s, depth);
	case '[':
		return scan_array(s, depth);
	case '"':
		return scan_string(s, false, NULL);
	default:
		/* number, true, false, null: their spelling was checked by jansson */
		if (memchr("-0123456789tfn", *s->p, 14) == NULL)
			return -EINVAL;
		while (s->p < s->end && memchr(",]} \t\r\n", *s->p, 7) == NULL)
			scan_advance(s);
		return 0;
	}
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct pos_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

struct cp_json_pos_index *
cp_json_pos_index_build(const char *text, size_t len)
{
	struct cp_json_pos_index *ix = calloc(1, sizeof(*ix));
	struct pos_scan *s = calloc(1, sizeof(*s));
	int rc = -ENOMEM;

	if (ix == NULL || s == NULL)
		goto fail;
	s->p = (const unsigned char *)text;
	s->end = s->p + len;
	s->line = 1;
	s->ix = ix;
	rc = scan_value(s, 0, 0, 0);
	if (rc != 0)
		goto fail;
	for (size_t i = 0; i < ix->n; i++)
		ix->v[i].path = ix->pool + ix->v[i].path_off;
	qsort(ix->v, ix->n, sizeof(*ix->v), entry_cmp);
	free(s);
	return ix;
fail:
	free(s);
	cp_json_pos_index_free(ix);
	errno = -rc;
	return NULL;
}

bool
cp_json_pos_lookup(const struct cp_json_pos_index *ix, const char *path,
		   enum cp_json_anchor anchor, int *line, int *col)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pos_entry *e = &ix->v[mid];
		int c = strcmp(path, e->path);

		if (c == 0) {
			*line = anchor == CP_JSON_AT_KEY ? e->key_line : e->val_line;
			*col = anchor == CP_JSON_AT_KEY ? e->key_col : e->val_col;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

size_t
cp_json_pos_count(const struct cp_json_pos_index *ix)
{
	return ix->n;
}

void
cp_json_pos_index_free(struct cp_json_pos_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->pool);
	free(ix->v);
	free(ix);
}
