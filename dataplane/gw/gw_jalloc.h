/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gw_jalloc: a bump allocator for jansson during policy reloads.
 *
 * Parsing a large policy is dominated by jansson's many small allocations
 * and frees (a json_t, a string, a hash bucket per value) and by the page
 * faults of fresh heap. Inside a scope (gw_jalloc_begin .. gw_jalloc_end)
 * jansson allocates from large chunks kept from one reload to the next, and
 * its frees cost nothing; the scope's end takes everything back at once.
 *
 * Contract: gw_jalloc_init() before any jansson call (json_set_alloc_funcs
 * must not change allocators under live values). Only one thread (the one
 * that calls begin) allocates from the arena; any other thread, and the same
 * thread outside a scope, gets malloc()/free(). Every JSON value made in a
 * scope must be released before gw_jalloc_end(): cp_policy_parse() and
 * cp_config_load() keep no JSON values. Control thread only.
 */
#ifndef GW_JALLOC_H
#define GW_JALLOC_H

#include <stddef.h>

/* Install the allocator (once, at start, before any JSON is read). */
void gw_jalloc_init(void);

void gw_jalloc_begin(void);
void gw_jalloc_end(void);

/* Bytes held in chunks for the next scope. */
size_t gw_jalloc_retained(void);

#endif /* GW_JALLOC_H */
