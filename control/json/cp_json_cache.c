/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parse cache (cp_json.h): a policy file that is reloaded usually
 * differs from the previous one in a few of its thousands of jobs, models or
 * nodes, yet jansson reads every byte again, one character at a time, and
 * builds and frees a value for each. Here the text is split at the elements
 * of the top-level arrays by a scanner that only follows strings and
 * brackets; an element whose exact text was in the previous parse reuses
 * that parse's value (shared, reference-counted, never modified by the
 * readers); only new text goes through jansson.
 *
 * The scanner is not a validator: it may only ever fall back. Anything it
 * does not expect (a key with an escape or a control character, a stray
 * character, a top-level key twice, nesting beyond jansson's depth, a NUL)
 * makes cp_json_cache_parse() return NULL, and the caller parses the whole
 * text with jansson, which then reports the error exactly as without a
 * cache. Each piece is parsed with the flags the whole file would be, so a
 * valid file gives the same values either way.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp_json.h"

#define CACHE_MIN_SLOTS 1024
#define DEPTH_MAX 2000          /* below jansson's JSON_PARSER_MAX_DEPTH (2048) */

struct entry {
	uint64_t hash;
	const char *text;       /* owned copy; NULL: free slot */
	size_t len;
	json_t *v;              /* one reference held by the cache */
	uint64_t used;          /* parse number that last used it */
};

struct cp_json_cache {
	struct entry *slots;
	size_t n_slots;         /* power of two */
	size_t n_used;
	uint64_t parse;         /* parses so far */
	struct cp_json_cache_stats stats;
};

struct cp_json_cache *
cp_json_cache_create(void)
{
	struct cp_json_cache *jc = calloc(1, sizeof(*jc));

	if (jc == NULL)
		return NULL;
	jc->n_slots = CACHE_MIN_SLOTS;
	jc->slots = calloc(jc->n_slots, sizeof(*jc->slots));
	if (jc->slots == NULL) {
		free(jc);
		return NULL;
	}
	return jc;
}

static void
entry_drop(struct entry *e)
{
	free((void *)e->text);
	json_decref(e->v);
	memset(e, 0, sizeof(*e));
}

void
cp_json_cache_free(struct cp_json_cache *jc)
{
	if (jc == NULL)
		return;
	for (size_t i = 0; i < jc->n_slots; i++)
		if (jc->slots[i].text != NULL)
			entry_drop(&jc->slots[i]);
	free(jc->slots);
	free(jc);
}

void
cp_json_cache_stats_get(const struct cp_json_cache *jc, struct cp_json_cache_stats *out)
{
	*out = jc->stats;
	out->entries = jc->n_used;
}

/* 8 bytes a step; collisions only cost a memcmp. */
static uint64_t
text_hash(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s + i, len - i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

static struct entry *
slot_find(const struct cp_json_cache *jc, uint64_t h, const char *s, size_t len)
{
	size_t mask = jc->n_slots - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct entry *e = &jc->slots[i];

		if (e->text == NULL)
			return e;
		if (e->hash == h && e->len == len && memcmp(e->text, s, len) == 0)
			return e;
	}
}

/* Rehash into a table of n slots (at most half full). */
static int
resize(struct cp_json_cache *jc, size_t n)
{
	struct entry *old = jc->slots;
	size_t n_old = jc->n_slots;

	jc->slots = calloc(n, sizeof(*jc->slots));
	if (jc->slots == NULL) {
		jc->slots = old;
		return -ENOMEM;
	}
	jc->n_slots = n;
	for (size_t i = 0; i < n_old; i++)
		if (old[i].text != NULL)
			*slot_find(jc, old[i].hash, old[i].text, old[i].len) = old[i];
	free(old);
	return 0;
}

/* The value of text [s, s+len): the cached one, or parsed now and kept.
 * NULL if jansson refuses it (the caller falls back). New reference. */
static json_t *
element_get(struct cp_json_cache *jc, const char *s, size_t len, size_t flags)
{
	uint64_t h = text_hash(s, len);
	struct entry *e = slot_find(jc, h, s, len);
	json_error_t jerr;
	json_t *v;
	char *copy;

	if (e->text != NULL) {
		e->used = jc->parse;
		jc->stats.hits++;
		jc->stats.bytes_hit += len;
		return json_incref(e->v);
	}
	v = json_loadb(s, len, flags, &jerr);
	if (v == NULL)
		return NULL;
	jc->stats.misses++;
	copy = malloc(len + 1);
	if (copy == NULL || ((jc->n_used + 1) * 2 > jc->n_slots &&
			     resize(jc, jc->n_slots * 2) != 0)) {
		/* Not kept; still a right answer for this parse. */
		free(copy);
		return v;
	}
	memcpy(copy, s, len);
	copy[len] = '\0';
	e = slot_find(jc, h, s, len);
	*e = (struct entry){ .hash = h, .text = copy, .len = len, .v = json_incref(v),
			     .used = jc->parse };
	jc->n_used++;
	return v;
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Past the closing quote of the string that starts at p (a '"'), or NULL. */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if (*p == '\\') {
			if (++p == end)
				return NULL;
		} else if (*p == '\0') {
			return NULL;
		}
	}
	return NULL;
}

/* Past the value that starts at p, or NULL if it does not end before end
 * or nests too deep. Brackets are counted, not matched: jansson judges. */
static const char *
skip_value(const char *p, const char *end)
{
	unsigned depth = 0;

	if (p == end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
		       *p != '\n' && *p != '\r' && *p != '\0' && *p != '"' && *p != '{' && *p != '[')
			p++;
		return p;
	}
	while (p < end) {
		switch (*p) {
		case '"':
			p = skip_string(p, end);
			if (p == NULL)
				return NULL;
			continue;
		case '{':
		case '[':
			if (++depth > DEPTH_MAX)
				return NULL;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return p + 1;
			break;
		case '\0':
			return NULL;
		default:
			break;
		}
		p++;
	}
	return NULL;
}

/* A top-level key at p (a '"'): plain printable ASCII without escapes, or
 * NULL (fall back). *next is set past the closing quote. */
static char *
key_read(const char *p, const char *end, const char **next)
{
	const char *q = p + 1;
	char *key;

	while (q < end && *q != '"') {
		if (*q == '\\' || (unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
			return NULL;
		q++;
	}
	if (q == end)
		return NULL;
	key = strndup(p + 1, (size_t)(q - p - 1));
	*next = q + 1;
	return key;
}

/* An array at p (a '['): each element through the cache. */
static json_t *
array_read(struct cp_json_cache *jc, const char *p, const char *end, const char **next)
{
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	p = skip_ws(p + 1, end);
	if (p < end && *p == ']') {
		*next = p + 1;
		return a;
	}
	while (p < end) {
		const char *e = skip_value(p, end);
		json_t *v;

		if (e == NULL || e == p)
			break;
		v = element_get(jc, p, (size_t)(e - p), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY);
		if (v == NULL || json_array_append_new(a, v) != 0)
			break;
		p = skip_ws(e, end);
		if (p < end && *p == ']') {
			*next = p + 1;
			return a;
		}
		if (p == end || *p != ',')
			break;
		p = skip_ws(p + 1, end);
	}
	json_decref(a);
	return NULL;
}

/* After a parse: drop what it did not use, so the cache holds one file's
 * worth. Removing entries breaks open-addressing probe chains, so the table
 * is rebuilt (smaller when it emptied). If that fails the old table stays:
 * a lookup may then miss an entry and parse its text again, never worse. */
static void
evict_unused(struct cp_json_cache *jc)
{
	size_t n = jc->n_slots;

	for (size_t i = 0; i < jc->n_slots; i++)
		if (jc->slots[i].text != NULL && jc->slots[i].used != jc->parse) {
			entry_drop(&jc->slots[i]);
			jc->n_used--;
		}
	while (n > CACHE_MIN_SLOTS && jc->n_used * 8 < n)
		n /= 2;
	resize(jc, n);
}

json_t *
cp_json_cache_parse(struct cp_json_cache *jc, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *next;
	json_t *root;

	jc->parse++;
	p = skip_ws(p, end);
	if (p == end || *p != '{' || memchr(text, '\0', len) != NULL)
		goto fall_back;
	root = json_object();
	if (root == NULL)
		goto fall_back;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		goto done;
	while (p < end) {
		char *key;
		json_t *v;

		if (*p != '"' || (key = key_read(p, end, &next)) == NULL)
			break;
		p = skip_ws(next, end);
		if (p == end || *p != ':' || json_object_get(root, key) != NULL) {
			free(key);
			break;
		}
		p = skip_ws(p + 1, end);
		if (p < end && *p == '[') {
			v = array_read(jc, p, end, &next);
		} else {
			next = skip_value(p, end);
			v = next != NULL && next != p ?
			    json_loadb(p, (size_t)(next - p), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
				       NULL) : NULL;
		}
		if (v == NULL || json_object_set_new(root, key, v) != 0) {
			free(key);
			break;
		}
		free(key);
		p = skip_ws(next, end);
		if (p < end && *p == '}')
			goto done;
		if (p == end || *p != ',')
			break;
		p = skip_ws(p + 1, end);
	}
	json_decref(root);
	goto fall_back;
done:
	if (skip_ws(p + 1, end) != end) {
		json_decref(root);
		goto fall_back;
	}
	jc->stats.parses++;
	evict_unused(jc);
	return root;
fall_back:
	jc->stats.fallbacks++;
	return NULL;
}
