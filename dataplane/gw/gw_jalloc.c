/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The arena behind gw_jalloc.h. Chunks grow geometrically, so a policy of any
 * size needs a handful of them; after a scope they are kept (already faulted
 * in) up to GW_JALLOC_KEEP bytes. free() must tell arena pointers from heap
 * ones (jansson may free a value made outside the scope, inside it): a
 * pointer inside a chunk is the arena's.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "gw_jalloc.h"

#define GW_JALLOC_FIRST (4u << 20)
#define GW_JALLOC_KEEP ((size_t)512 << 20)
#define GW_JALLOC_ALIGN 16

struct chunk {
	struct chunk *next;
	size_t size;            /* bytes of data */
	size_t used;
	_Alignas(GW_JALLOC_ALIGN) unsigned char data[];
};

static struct {
	bool active;
	pthread_t owner;
	struct chunk *chunks;   /* newest first; allocation from the first */
	struct chunk *spare;    /* emptied chunks for the next ones */
} ja;

static bool
in_arena(const void *p)
{
	for (const struct chunk *c = ja.chunks; c != NULL; c = c->next)
		if ((const unsigned char *)p >= c->data && (const unsigned char *)p < c->data + c->size)
			return true;
	return false;
}

static struct chunk *
chunk_get(size_t need)
{
	struct chunk **pp, *c;
	size_t size = ja.chunks != NULL ? ja.chunks->size * 2 : GW_JALLOC_FIRST;

	for (pp = &ja.spare; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->size >= need) {
			c = *pp;
			*pp = c->next;
			c->used = 0;
			return c;
		}
	while (size < need)
		size *= 2;
	c = malloc(sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->size = size;
	c->used = 0;
	return c;
}

static void *
ja_malloc(size_t n)
{
	struct chunk *c = ja.chunks;
	size_t need = (n + GW_JALLOC_ALIGN - 1) & ~(size_t)(GW_JALLOC_ALIGN - 1);

	if (!ja.active || !pthread_equal(pthread_self(), ja.owner))
		return malloc(n);
	if (c == NULL || c->size - c->used < need) {
		c = chunk_get(need);
		if (c == NULL)
			return NULL;
		c->next = ja.chunks;
		ja.chunks = c;
	}
	c->used += need;
	return c->data + c->used - need;
}

static void
ja_free(void *p)
{
	if (p == NULL)
		return;
	/* Only the owner's scope hands out arena memory, and only it frees
	 * into it; another thread's pointers are heap ones. */
	if (ja.active && pthread_equal(pthread_self(), ja.owner) && in_arena(p))
		return;
	free(p);
}

void
gw_jalloc_init(void)
{
	json_set_alloc_funcs(ja_malloc, ja_free);
}

void
gw_jalloc_begin(void)
{
	ja.owner = pthread_self();
	ja.active = true;
}

void
gw_jalloc_end(void)
{
	size_t kept = 0;

	ja.active = false;
	/* Everything made in the scope is gone: chunks become spares, kept
	 * up to the cap. */
	while (ja.chunks != NULL) {
		struct chunk *c = ja.chunks;

		ja.chunks = c->next;
		c->next = ja.spare;
		ja.spare = c;
	}
	for (struct chunk **pp = &ja.spare; *pp != NULL;) {
		struct chunk *c = *pp;

		if (kept + c->size > GW_JALLOC_KEEP) {
			*pp = c->next;
			free(c);
			continue;
		}
		kept += c->size;
		pp = &c->next;
	}
}

size_t
gw_jalloc_retained(void)
{
	size_t n = 0;

	for (const struct chunk *c = ja.spare; c != NULL; c = c->next)
		n += c->size;
	return n;
}
