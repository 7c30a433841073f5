/* SPDX-License-Identifier: BSD-3-Clause */
/* Loading, path tracking and error reporting; the getters are in cp_json_get.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp_json.h"

#define CP_JSON_FILE_SIZE_MAX (64u << 20)

int
cp_json_file_read(const char *path, char **text, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto close_fd;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto close_fd;
	}
	if ((uint64_t)st.st_size > CP_JSON_FILE_SIZE_MAX) {
		rc = -EFBIG;
		goto close_fd;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto close_fd;
	}
	/* The file may shrink under us while an editor rewrites it; read what
	 * is there and let the parser judge it. */
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto free_buf;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*text = buf;
	*len = got;
	return 0;
free_buf:
	free(buf);
close_fd:
	close(fd);
	return rc;
}

void
cp_json_ctx_init(struct cp_json_ctx *c, const char *file, const char *text,
		 size_t len, struct cp_diags *diags)
{
	memset(c, 0, sizeof(*c));
	c->file = file;
	c->text = text;
	c->len = len;
	c->diags = diags;
}

void
cp_json_ctx_fini(struct cp_json_ctx *c)
{
	cp_json_pos_index_free(c->index);
	c->index = NULL;
}

static void
add_diag(struct cp_json_ctx *c, int line, int col, const char *path,
	 const char *msg)
{
	c->n_errors++;
	if (cp_diags_add(c->diags, c->file, line, col, path, "%s", msg) != 0)
		c->err = -ENOMEM;
}

json_t *
cp_json_ctx_parse(struct cp_json_ctx *c)
{
	json_error_t jerr;
	json_t *root;
	char msg[CP_DIAG_MSG_MAX];

	root = c->cache != NULL ? cp_json_cache_parse(c->cache, c->text, c->len) : NULL;
	if (root == NULL)
		root = json_loadb(c->text, c->len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(msg, sizeof(msg), "syntax error: %s", jerr.text);
		add_diag(c, jerr.line, jerr.column, "", msg);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(msg, sizeof(msg), "expected an object at the top, got %s",
			 cp_json_type_name(root));
		json_decref(root);
		cp_json_error_at(c, "", CP_JSON_AT_VALUE, "%s", msg);
		return NULL;
	}
	return root;
}

/* Append "/" and the RFC 6901 escaped token. A path that no longer fits is
 * cut at the last whole token and marked with a trailing "/..." so nobody
 * mistakes it for a real pointer. */
static size_t
push_token(struct cp_json_ctx *c, const char *tok)
{
	size_t mark = c->path_len;
	size_t len = c->path_len;
	const size_t max = sizeof(c->path) - 5;

	if (len + 1 > max)
		goto cut;
	c->path[len++] = '/';
	for (const char *t = tok; *t != '\0'; t++) {
		if (*t == '~' || *t == '/') {
			if (len + 2 > max)
				goto cut;
			c->path[len++] = '~';
			c->path[len++] = *t == '~' ? '0' : '1';
		} else {
			if (len + 1 > max)
				goto cut;
			c->path[len++] = *t;
		}
	}
	c->path[len] = '\0';
	c->path_len = len;
	return mark;
cut:
	memcpy(c->path + mark, "/...", 5);
	c->path_len = mark + 4;
	return mark;
}

size_t
cp_json_push_key(struct cp_json_ctx *c, const char *key)
{
	return push_token(c, key);
}

size_t
cp_json_push_index(struct cp_json_ctx *c, size_t i)
{
	char tok[24], *p = tok + sizeof(tok) - 1;

	/* Called for every element of every array of a large policy: digits by
	 * hand, not snprintf. */
	*p = '\0';
	do {
		*--p = (char)('0' + i % 10);
		i /= 10;
	} while (i != 0);
	return push_token(c, p);
}

void
cp_json_pop(struct cp_json_ctx *c, size_t mark)
{
	c->path_len = mark;
	c->path[mark] = '\0';
}

/* Where path is in the text. A path the file lacks (a defaulted key, a key
 * to add) points at the closest enclosing value that is there. */
static void
position(struct cp_json_ctx *c, const char *path, enum cp_json_anchor anchor,
	 int *line, int *col)
{
	char up[CP_DIAG_PATH_MAX];
	char *slash;

	*line = 0;
	*col = 0;
	if (c->index == NULL && !c->index_failed && c->text != NULL) {
		c->index = cp_json_pos_index_build(c->text, c->len);
		c->index_failed = c->index == NULL;
	}
	if (c->index == NULL || cp_json_pos_lookup(c->index, path, anchor, line, col))
		return;
	snprintf(up, sizeof(up), "%s", path);
	while ((slash = strrchr(up, '/')) != NULL) {
		*slash = '\0';
		if (cp_json_pos_lookup(c->index, up, CP_JSON_AT_VALUE, line, col))
			return;
	}
}

void
cp_json_error_at(struct cp_json_ctx *c, const char *path,
		 enum cp_json_anchor anchor, const char *fmt, ...)
{
	char msg[CP_DIAG_MSG_MAX];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	position(c, path, anchor, &line, &col);
	add_diag(c, line, col, path, msg);
}

void
cp_json_error(struct cp_json_ctx *c, const char *fmt, ...)
{
	char msg[CP_DIAG_MSG_MAX];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	position(c, c->path, CP_JSON_AT_VALUE, &line, &col);
	add_diag(c, line, col, c->path, msg);
}

/* A missing member is reported with its own path (what to add) at the
 * position of the object that lacks it (where to add it). */
void
cp_json_error_missing(struct cp_json_ctx *c, const char *key)
{
	char path[CP_DIAG_PATH_MAX];
	int line, col;
	size_t mark;

	position(c, c->path, CP_JSON_AT_VALUE, &line, &col);
	mark = cp_json_push_key(c, key);
	memcpy(path, c->path, c->path_len + 1);
	cp_json_pop(c, mark);
	add_diag(c, line, col, path, "required key is missing");
}

const char *
cp_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

const char *
cp_json_describe(const json_t *v, char *buf, size_t size)
{
	switch (json_typeof(v)) {
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t n = strlen(s);

		if (n > 40)
			snprintf(buf, size, "a string (\"%.37s...\")", s);
		else
			snprintf(buf, size, "a string (\"%s\")", s);
		break;
	}
	case JSON_INTEGER:
		snprintf(buf, size, "an integer (%" JSON_INTEGER_FORMAT ")",
			 json_integer_value(v));
		break;
	case JSON_REAL: {
		char num[32];

		/* Keep "1.0" distinguishable from the integer 1 it is refused as. */
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		if (strpbrk(num, ".eEn") == NULL)
			strcat(num, ".0");
		snprintf(buf, size, "a number (%s)", num);
		break;
	}
	case JSON_TRUE:
		snprintf(buf, size, "true");
		break;
	case JSON_FALSE:
		snprintf(buf, size, "false");
		break;
	default:
		snprintf(buf, size, "%s", cp_json_type_name(v));
		break;
	}
	return buf;
}

bool
cp_json_want_object(struct cp_json_ctx *c, const json_t *v)
{
	char d[64];

	if (json_is_object(v))
		return true;
	cp_json_error(c, "expected an object, got %s", cp_json_describe(v, d, sizeof(d)));
	return false;
}

bool
cp_json_keys_check(struct cp_json_ctx *c, const json_t *obj,
		   const char *const known[])
{
	const char *key;
	json_t *v;
	bool ok = true;

	json_object_foreach((json_t *)obj, key, v) {
		struct cp_json_suggest sg;
		bool found = false;
		size_t mark;

		for (size_t i = 0; known[i] != NULL && !found; i++)
			found = strcmp(key, known[i]) == 0;
		if (found)
			continue;
		ok = false;
		cp_json_suggest_init(&sg, key);
		for (size_t i = 0; known[i] != NULL; i++)
			cp_json_suggest_offer(&sg, known[i]);
		mark = cp_json_push_key(c, key);
		if (cp_json_suggest_best(&sg) != NULL) {
			cp_json_error_at(c, c->path, CP_JSON_AT_KEY,
					 "unknown key \"%s\" (did you mean \"%s\"?)",
					 key, cp_json_suggest_best(&sg));
		} else {
			char list[CP_DIAG_MSG_MAX] = "";
			size_t n = 0;

			for (size_t i = 0; known[i] != NULL && n < sizeof(list); i++)
				n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
						      i > 0 ? ", " : "", known[i]);
			cp_json_error_at(c, c->path, CP_JSON_AT_KEY,
					 "unknown key \"%.40s\" (known keys: %s)", key, list);
		}
		cp_json_pop(c, mark);
	}
	return ok;
}
