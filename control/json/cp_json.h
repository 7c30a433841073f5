/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cp_json: strict reading of JSON files for the gateway configuration and the
 * policy, with every problem reported as
 *
 *     FILE:LINE:COL: /json/pointer: reason
 *
 * jansson parses (duplicate keys rejected) and positions its syntax errors.
 * It keeps no positions for values, so for semantic errors a position index
 * is built from the raw text (cp_json_pos_*): a scanner that maps the JSON
 * pointer of every value to its line and column. The index is built on the
 * first error only, so a valid file costs nothing extra.
 *
 * Columns count characters (UTF-8 code points) from 1, as jansson does.
 *
 * A reading context tracks the JSON pointer of the value being read: callers
 * push a key or an index before reading a member or an element and pop it
 * afterwards. The getters read one member of an object under the current
 * path, check its type and range, and report any problem; they leave *out
 * untouched unless the member is present and valid, so callers store the
 * default first.
 *
 * Not thread-safe: one context per load, on one thread (any non-lcore one).
 */
#ifndef CP_JSON_H
#define CP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cp_diag.h"

/* Getter results. */
#define CP_JSON_BAD (-1)     /* present but invalid, or required and missing: reported */
#define CP_JSON_ABSENT 0     /* optional and missing: *out untouched */
#define CP_JSON_OK 1         /* present and valid: *out set */

/* Where a diagnostic about a path points. */
enum cp_json_anchor {
	CP_JSON_AT_VALUE,    /* the value's first character */
	CP_JSON_AT_KEY,      /* the member's key (the value, for array elements) */
};

struct cp_json_pos_index;
struct cp_json_cache;

struct cp_json_ctx {
	const char *file;            /* name printed in diagnostics */
	const char *text;            /* raw text, for positions */
	size_t len;                  /* bytes of text */
	struct cp_diags *diags;
	unsigned n_errors;           /* errors reported through this context */
	int err;                     /* 0, or -ENOMEM if a diagnostic was lost */
	struct cp_json_pos_index *index;  /* built on the first error */
	struct cp_json_cache *cache;  /* optional: set after init (see below) */
	bool index_failed;           /* building it failed: positions stay 0 */
	size_t path_len;
	char path[CP_DIAG_PATH_MAX]; /* JSON pointer of the current value */
};

/* Read a whole file into a NUL-terminated heap buffer (free() it).
 * Returns 0, -errno from the system, -EFBIG above 64 MiB, or -ENOMEM. */
int cp_json_file_read(const char *path, char **text, size_t *len);

/* Start a context over text (not copied; it must outlive the context). */
void cp_json_ctx_init(struct cp_json_ctx *c, const char *file,
		      const char *text, size_t len, struct cp_diags *diags);

/* Release the position index. The diagnostics stay in c->diags. */
void cp_json_ctx_fini(struct cp_json_ctx *c);

/* Parse c->text with jansson (through c->cache if set). Returns the root
 * (json_decref() it), or NULL with a syntax error at jansson's position.
 * The root must be an object. With a cache, the root may share values with
 * the cache: read them, never modify them. */
json_t *cp_json_ctx_parse(struct cp_json_ctx *c);

/*
 * A parse cache, for a large file parsed again and again with small changes
 * (a policy reloaded by a gateway). It keeps the parsed value of every
 * element of the file's top-level arrays by the element's exact text; the
 * next parse splits the text at those elements (a scanner that follows only
 * strings and brackets) and sends only text it has not seen to jansson.
 * Whatever the scanner does not expect makes the parse fall back to jansson
 * over the whole text, so errors and their positions are exactly those of an
 * uncached parse, and a valid file gives equal values either way. After a
 * successful parse the cache holds that file's elements only.
 *
 * The values are allocated with jansson's allocator and kept across parses:
 * do not use it inside an allocation scope that is released at its end.
 * One thread at a time; free it with cp_json_cache_free().
 */
struct cp_json_cache_stats {
	uint64_t parses;        /* parses through the cache */
	uint64_t fallbacks;     /* parses it left to jansson over the whole text */
	uint64_t hits;          /* elements reused */
	uint64_t misses;        /* elements parsed (and kept) */
	uint64_t bytes_hit;     /* text of the reused elements */
	uint64_t entries;       /* elements held now */
};

struct cp_json_cache *cp_json_cache_create(void);   /* NULL if out of memory */
void cp_json_cache_free(struct cp_json_cache *jc);
void cp_json_cache_stats_get(const struct cp_json_cache *jc, struct cp_json_cache_stats *out);

/* The root object of text through the cache (new reference), or NULL when
 * the caller must parse it with jansson itself (cp_json_ctx_parse does). */
json_t *cp_json_cache_parse(struct cp_json_cache *jc, const char *text, size_t len);

/* JSON pointer of the current value. Each push returns a mark for pop; a
 * path longer than CP_DIAG_PATH_MAX - 1 is cut short (diagnostics only). */
size_t cp_json_push_key(struct cp_json_ctx *c, const char *key);
size_t cp_json_push_index(struct cp_json_ctx *c, size_t i);
void cp_json_pop(struct cp_json_ctx *c, size_t mark);

/* Report an error at the current path (value), or at path with anchor. */
void cp_json_error(struct cp_json_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cp_json_error_at(struct cp_json_ctx *c, const char *path,
		      enum cp_json_anchor anchor, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Report that member key of the current object is missing: the path names
 * the member, the position is the object's. */
void cp_json_error_missing(struct cp_json_ctx *c, const char *key);

/* "an object", "an array", "a string", "an integer", "a number", "a boolean", "null". */
const char *cp_json_type_name(const json_t *v);

/* The type and, for scalars, the value, for "expected X, got Y" messages:
 * "a string (\"4MB\")", "an integer (-1)", "true", "an array". Returns buf. */
const char *cp_json_describe(const json_t *v, char *buf, size_t size);

/* Check the type of the current value; report "expected an object, got ..."
 * and return false if it is not. */
bool cp_json_want_object(struct cp_json_ctx *c, const json_t *v);

/* Every key of obj (at the current path) must be in known (NULL-terminated).
 * Each unknown key is an error at the key, naming the closest known key, or
 * listing them all. Returns true if all keys are known. */
bool cp_json_keys_check(struct cp_json_ctx *c, const json_t *obj,
			const char *const known[]);

/*
 * Getters for member key of obj, which is at the current path. required:
 * a missing member is an error at the object ("/a/key: required key is
 * missing"). Each returns CP_JSON_OK, CP_JSON_ABSENT or CP_JSON_BAD.
 */
int cp_json_get_uint(struct cp_json_ctx *c, const json_t *obj, const char *key,
		     bool required, uint64_t min, uint64_t max, uint64_t *out);
int cp_json_get_bool(struct cp_json_ctx *c, const json_t *obj, const char *key,
		     bool required, bool *out);
/* A string of 1 .. max_len bytes; *out borrows from obj. */
int cp_json_get_string(struct cp_json_ctx *c, const json_t *obj, const char *key,
		       bool required, size_t max_len, const char **out);
/* An identifier: 1 .. size-1 characters from A-Z a-z 0-9 _ - . ; copied. */
int cp_json_get_id(struct cp_json_ctx *c, const json_t *obj, const char *key,
		   bool required, char *out, size_t size);
/* A dotted-quad IPv4 address; *out in host byte order. */
int cp_json_get_ipv4(struct cp_json_ctx *c, const json_t *obj, const char *key,
		     bool required, uint32_t *out);
/* An Ethernet address "aa:bb:cc:dd:ee:ff" (hex, either case), unicast and
 * not all zero. */
int cp_json_get_mac(struct cp_json_ctx *c, const json_t *obj, const char *key,
		    bool required, uint8_t out[6]);
/* A size in bytes: an integer, or a string "<n>[B|KiB|MiB|GiB|TiB]". */
int cp_json_get_size(struct cp_json_ctx *c, const json_t *obj, const char *key,
		     bool required, uint64_t min, uint64_t max, uint64_t *out);
/* An array of min .. max elements; *out borrows from obj. */
int cp_json_get_array(struct cp_json_ctx *c, const json_t *obj, const char *key,
		      bool required, size_t min, size_t max, json_t **out);

/* Value parsers without a context (also used by the getters). */

/* "a.b.c.d", each 0..255 in decimal without leading zeros. 0 or -EINVAL. */
int cp_json_ipv4_parse(const char *s, uint32_t *out);
/* "aa:bb:cc:dd:ee:ff": six pairs of hex digits, either case. 0 or -EINVAL. */
int cp_json_mac_parse(const char *s, uint8_t out[6]);
/* Format ip (host byte order) as a dotted quad; buf needs 16 bytes. */
const char *cp_json_ipv4_format(uint32_t ip, char *buf, size_t size);
/* Parse "<digits>[ ][B|KiB|MiB|GiB|TiB]". 0, -EINVAL, or -ERANGE on overflow. */
int cp_json_size_parse(const char *s, uint64_t *out);
/* Format bytes with the largest binary unit that divides them ("64MiB",
 * "1536KiB", "1000B"). Returns buf. */
const char *cp_json_size_format(uint64_t bytes, char *buf, size_t size);
/* True if s is a valid identifier of at most max_len characters. */
bool cp_json_id_valid(const char *s, size_t max_len);

/*
 * Closest-name suggestions for typos: offer candidates, then ask for the
 * best, which is NULL unless a candidate is within a small edit distance
 * (at most 2, and less than half the word) or equal ignoring case.
 */
struct cp_json_suggest {
	const char *word;
	const char *best;
	unsigned best_dist;
};
void cp_json_suggest_init(struct cp_json_suggest *s, const char *word);
void cp_json_suggest_offer(struct cp_json_suggest *s, const char *candidate);
const char *cp_json_suggest_best(const struct cp_json_suggest *s);

/*
 * The position index, on its own (the context builds it when needed).
 * cp_json_pos_index_build scans valid JSON text (as accepted by jansson) and
 * returns NULL with errno set on allocation failure or malformed text.
 * Lookups return false if path names no value.
 */
struct cp_json_pos_index *cp_json_pos_index_build(const char *text, size_t len);
bool cp_json_pos_lookup(const struct cp_json_pos_index *ix, const char *path,
			enum cp_json_anchor anchor, int *line, int *col);
size_t cp_json_pos_count(const struct cp_json_pos_index *ix);
void cp_json_pos_index_free(struct cp_json_pos_index *ix);

#endif /* CP_JSON_H */
