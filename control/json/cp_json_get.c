/* SPDX-License-Identifier: BSD-3-Clause */
/* The typed member getters of cp_json.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "cp_json.h"

#define SIZE_HINT "bytes as an integer, or a string like \"4MiB\" or \"512KiB\""

/* Look member key up; NULL if absent (reported when required). When found,
 * the key is pushed on the path and *mark set for the caller's pop. */
static json_t *
member(struct cp_json_ctx *c, const json_t *obj, const char *key,
       bool required, size_t *mark)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		if (required)
			cp_json_error_missing(c, key);
		return NULL;
	}
	*mark = cp_json_push_key(c, key);
	return v;
}

static int
absent(bool required)
{
	return required ? CP_JSON_BAD : CP_JSON_ABSENT;
}

static int
wrong_type(struct cp_json_ctx *c, const char *want, const json_t *v, size_t mark)
{
	char d[64];

	cp_json_error(c, "expected %s, got %s", want, cp_json_describe(v, d, sizeof(d)));
	cp_json_pop(c, mark);
	return CP_JSON_BAD;
}

static int
done(struct cp_json_ctx *c, size_t mark, int rc)
{
	cp_json_pop(c, mark);
	return rc;
}

int
cp_json_get_uint(struct cp_json_ctx *c, const json_t *obj, const char *key,
		 bool required, uint64_t min, uint64_t max, uint64_t *out)
{
	size_t mark;
	json_t *v = member(c, obj, key, required, &mark);
	json_int_t i;

	if (v == NULL)
		return absent(required);
	if (!json_is_integer(v))
		return wrong_type(c, "an integer", v, mark);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max) {
		cp_json_error(c, "must be between %" PRIu64 " and %" PRIu64
			      " (got %" JSON_INTEGER_FORMAT ")", min, max, i);
		return done(c, mark, CP_JSON_BAD);
	}
	*out = (uint64_t)i;
	return done(c, mark, CP_JSON_OK);
}

int
cp_json_get_bool(struct cp_json_ctx *c, const json_t *obj, const char *key,
		 bool required, bool *out)
{
	size_t mark;
	json_t *v = member(c, obj, key, required, &mark);

	if (v == NULL)
		return absent(required);
	if (!json_is_boolean(v))
		return wrong_type(c, "true or false", v, mark);
	*out = json_is_true(v);
	return done(c, mark, CP_JSON_OK);
}

int
cp_json_get_string(struct cp_json_ctx *c, const json_t *obj, const char *key,
		   bool required, size_t max_len, const char **out)
{
	size_t mark, n;
	json_t *v = member(c, obj, key, required, &mark);

	if (v == NULL)
		return absent(required);
	if (!json_is_string(v))
		return wrong_type(c, "a string", v, mark);
	n = json_string_length(v);
	if (n == 0) {
		cp_json_error(c, "must not be empty");
		return done(c, mark, CP_JSON_BAD);
	}
	if (n > max_len) {
		cp_json_error(c, "longer than %zu characters", max_len);
		return done(c, mark, CP_JSON_BAD);
	}
	*out = json_string_value(v);
	return done(c, mark, CP_JSON_OK);
}

int
cp_json_get_id(struct cp_json_ctx *c, const json_t *obj, const char *key,
	       bool required, char *out, size_t size)
{
	size_t mark;
	json_t *v = member(c, obj, key, required, &mark);
	const char *s;

	if (v == NULL)
		return absent(required);
	if (!json_is_string(v))
		return wrong_type(c, "a string", v, mark);
	s = json_string_value(v);
	if (json_string_length(v) != strlen(s) || !cp_json_id_valid(s, size - 1)) {
		cp_json_error(c, "not a valid id (\"%.48s\"): use 1 to %zu characters "
			      "from A-Z a-z 0-9 _ - .", s, size - 1);
		return done(c, mark, CP_JSON_BAD);
	}
	memcpy(out, s, strlen(s) + 1);
	return done(c, mark, CP_JSON_OK);
}

int
cp_json_get_ipv4(struct cp_json_ctx *c, const json_t *obj, const char *key,
		 bool required, uint32_t *out)
{
	size_t mark;
	json_t *v = member(c, obj, key, required, &mark);
	uint32_t ip;

	if (v == NULL)
		return absent(required);
	if (!json_is_string(v))
		return wrong_type(c, "an IPv4 address as a string", v, mark);
	if (cp_json_ipv4_parse(json_string_value(v), &ip) != 0) {
		cp_json_error(c, "not an IPv4 address (\"%.40s\")", json_string_value(v));
		return done(c, mark, CP_JSON_BAD);
	}
	*out = ip;
	return done(c, mark, CP_JSON_OK);
}

int
cp_json_get_mac(struct cp_json_ctx *c, const json_t *obj, const char *key,
		bool required, uint8_t out[6])
{
	static const uint8_t zero[6];
	size_t mark;
	json_t *v = member(c, obj, key, required, &mark);
	uint8_t mac[6];

	if (v == NULL)
		return absent(required);
	if (!json_is_string(v))
		return wrong_type(c, "an Ethernet address as a string", v, mark);
	if (cp_json_mac_parse(json_string_value(v), mac) != 0) {
		cp_json_error(c, "not an Ethernet address like \"02:00:00:00:00:01\" (\"%.40s\")",
			      json_string_value(v));
		return done(c, mark, CP_JSON_BAD);
	}
	if ((mac[0] & 1) != 0 || memcmp(mac, zero, sizeof(mac)) == 0) {
		cp_json_error(c, "%s is not a unicast address", json_string_value(v));
		return done(c, mark, CP_JSON_BAD);
	}
	memcpy(out, mac, sizeof(mac));
	return done(c, mark, CP_JSON_OK);
}

int
cp_json_get_size(struct cp_json_ctx *c, const json_t *obj, const char *key,
		 bool required, uint64_t min, uint64_t max, uint64_t *out)
{
	size_t mark;
	json_t *v = member(c, obj, key, required, &mark);
	char a[32], b[32], g[32];
	uint64_t bytes;

	if (v == NULL)
		return absent(required);
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0) {
			cp_json_error(c, "must not be negative (got %" JSON_INTEGER_FORMAT ")",
				      json_integer_value(v));
			return done(c, mark, CP_JSON_BAD);
		}
		bytes = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		int rc = cp_json_size_parse(json_string_value(v), &bytes);

		if (rc == -ERANGE) {
			cp_json_error(c, "size too large (\"%.40s\")", json_string_value(v));
			return done(c, mark, CP_JSON_BAD);
		}
		if (rc != 0) {
			cp_json_error(c, "not a size (\"%.40s\"): use " SIZE_HINT,
				      json_string_value(v));
			return done(c, mark, CP_JSON_BAD);
		}
	} else {
		return wrong_type(c, "a size (" SIZE_HINT ")", v, mark);
	}
	if (bytes < min || bytes > max) {
		cp_json_error(c, "must be between %s and %s (got %s)",
			      cp_json_size_format(min, a, sizeof(a)),
			      cp_json_size_format(max, b, sizeof(b)),
			      cp_json_size_format(bytes, g, sizeof(g)));
		return done(c, mark, CP_JSON_BAD);
	}
	*out = bytes;
	return done(c, mark, CP_JSON_OK);
}

int
cp_json_get_array(struct cp_json_ctx *c, const json_t *obj, const char *key,
		  bool required, size_t min, size_t max, json_t **out)
{
	size_t mark, n;
	json_t *v = member(c, obj, key, required, &mark);

	if (v == NULL)
		return absent(required);
	if (!json_is_array(v))
		return wrong_type(c, "an array", v, mark);
	n = json_array_size(v);
	if (n < min || n > max) {
		if (max == SIZE_MAX)
			cp_json_error(c, "must have at least %zu element%s", min,
				      min == 1 ? "" : "s");
		else
			cp_json_error(c, "must have %zu to %zu elements (has %zu)",
				      min, max, n);
		return done(c, mark, CP_JSON_BAD);
	}
	*out = v;
	return done(c, mark, CP_JSON_OK);
}
