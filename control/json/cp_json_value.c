/* SPDX-License-Identifier: BSD-3-Clause */
/* Scalar value parsers and typo suggestions. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cp_json.h"

/* Strict on purpose: inet_aton() would take "10.1" and "010.0.0.1" (octal),
 * which in a policy are far more likely typos than intent. */
int
cp_json_ipv4_parse(const char *s, uint32_t *out)
{
	uint32_t ip = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		while (*s >= '0' && *s <= '9') {
			if (digits > 0 && v == 0)
				return -EINVAL;   /* leading zero */
			v = v * 10 + (unsigned)(*s - '0');
			if (v > 255)
				return -EINVAL;
			digits++;
			s++;
		}
		if (digits == 0)
			return -EINVAL;
		ip = ip << 8 | v;
		if (part < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (*s != '\0')
		return -EINVAL;
	*out = ip;
	return 0;
}

static int
hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
cp_json_mac_parse(const char *s, uint8_t out[6])
{
	uint8_t mac[6];

	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0 || (i < 5 && s[2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += i < 5 ? 3 : 2;
	}
	if (*s != '\0')
		return -EINVAL;
	memcpy(out, mac, sizeof(mac));
	return 0;
}

const char *
cp_json_ipv4_format(uint32_t ip, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		 (ip >> 8) & 0xff, ip & 0xff);
	return buf;
}

static const struct {
	const char *name;
	unsigned shift;
} size_units[] = {
	{ "TiB", 40 }, { "GiB", 30 }, { "MiB", 20 }, { "KiB", 10 }, { "B", 0 },
};

int
cp_json_size_parse(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned digits = 0;

	while (*s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		digits++;
		s++;
	}
	if (digits == 0)
		return -EINVAL;
	if (*s == '\0') {
		*out = v;
		return 0;
	}
	if (*s == ' ')   /* "4 MiB": one space, and then a unit */
		s++;
	for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (strcmp(s, size_units[i].name) != 0)
			continue;
		if (v > UINT64_MAX >> size_units[i].shift)
			return -ERANGE;
		*out = v << size_units[i].shift;
		return 0;
	}
	return -EINVAL;
}

const char *
cp_json_size_format(uint64_t bytes, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		uint64_t unit = UINT64_C(1) << size_units[i].shift;

		if (bytes != 0 && bytes % unit == 0) {
			snprintf(buf, size, "%" PRIu64 "%s", bytes / unit, size_units[i].name);
			return buf;
		}
	}
	snprintf(buf, size, "%" PRIu64 "B", bytes);
	return buf;
}

bool
cp_json_id_valid(const char *s, size_t max_len)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char ch = (unsigned char)s[n];

		if (!isalnum(ch) && ch != '_' && ch != '-' && ch != '.')
			return false;
	}
	return n >= 1 && n <= max_len;
}

/* Edit distance counting a swap of two neighbours as one edit (optimal
 * string alignment), the commonest typo in keys ("nmae"). Words longer than
 * 63 bytes are never suggested; ids and keys are shorter. */
static unsigned
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned prev2[64], prev[64], row[64];

	if (la > 63 || lb > 63)
		return UINT32_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned best = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			row[j] = best;
		}
		memcpy(prev2, prev, (lb + 1) * sizeof(prev[0]));
		memcpy(prev, row, (lb + 1) * sizeof(row[0]));
	}
	return prev[lb];
}

void
cp_json_suggest_init(struct cp_json_suggest *s, const char *word)
{
	s->word = word;
	s->best = NULL;
	s->best_dist = UINT32_MAX;
}

void
cp_json_suggest_offer(struct cp_json_suggest *s, const char *candidate)
{
	size_t len = strlen(s->word);
	unsigned d;

	if (strcasecmp(s->word, candidate) == 0) {
		d = 0;
	} else {
		d = edit_distance(s->word, candidate);
		if (d > 2 || 2 * d >= len)
			return;
	}
	if (d < s->best_dist) {
		s->best = candidate;
		s->best_dist = d;
	}
}

const char *
cp_json_suggest_best(const struct cp_json_suggest *s)
{
	return s->best;
}
