/* SPDX-License-Identifier: BSD-3-Clause */
/* Inference placements: model -> ordered stages -> weighted replicas. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_policy_priv.h"

static const char *const model_keys[] = {
	"id", "tenant", "class", "stages", "reply_to", "requesters", "key_file", NULL,
};
static const char *const stage_keys[] = { "replicas", NULL };
static const char *const replica_keys[] = { "node", "port", "weight", NULL };
static const char *const reply_keys[] = { "node", "port", NULL };

struct model_addrs {
	struct pol_addr *v;
	size_t n, cap;
	size_t model;        /* /models/<model> */
};

static void
replica_read(struct pol_build *b, const json_t *obj, struct cp_replica *r)
{
	struct cp_json_ctx *c = &b->c;
	uint64_t port = 0, weight = 1;

	cp_json_keys_check(c, obj, replica_keys);
	r->node = pol_node_ref(b, obj, "node", CP_ROLE_STAGE);
	if (r->node != UINT32_MAX)
		r->ip = b->p->nodes[r->node].ip;
	cp_json_get_uint(c, obj, "port", true, 1, 65535, &port);
	r->port = (uint16_t)port;
	cp_json_get_uint(c, obj, "weight", false, 1, 65535, &weight);
	r->weight = (uint32_t)weight;
}

static void
stage_read(struct pol_build *b, const json_t *obj, size_t s, struct cp_stage *st,
	   struct model_addrs *ma)
{
	struct cp_json_ctx *c = &b->c;
	json_t *arr = NULL, *v;
	size_t i, mark;

	cp_json_keys_check(c, obj, stage_keys);
	if (cp_json_get_array(c, obj, "replicas", true, 1, CP_REPLICAS_MAX, &arr) != CP_JSON_OK)
		return;
	st->replicas = calloc(json_array_size(arr), sizeof(*st->replicas));
	if (st->replicas == NULL) {
		b->err = -ENOMEM;
		return;
	}
	st->n_replicas = (uint16_t)json_array_size(arr);
	mark = cp_json_push_key(c, "replicas");
	json_array_foreach(arr, i, v) {
		struct cp_replica *r = &st->replicas[i];
		size_t m = cp_json_push_index(c, i);

		r->node = UINT32_MAX;
		if (cp_json_want_object(c, v))
			replica_read(b, v, r);
		if (r->node != UINT32_MAX && r->port != 0 && ma->n < ma->cap)
			ma->v[ma->n++] = (struct pol_addr){
				(uint64_t)r->ip << 16 | r->port, (uint32_t)s, (uint32_t)i };
		cp_json_pop(c, m);
	}
	cp_json_pop(c, mark);
}

static size_t
replicas_count(const json_t *stages)
{
	size_t n = 0, i;
	json_t *st;

	json_array_foreach(stages, i, st)
		n += json_array_size(json_object_get(st, "replicas"));
	return n;
}

static void
replica_dup(struct pol_build *b, const struct pol_addr *later, const struct pol_addr *first)
{
	char a[16], path[64];
	size_t model = b->c.path_len;   /* the caller stands at /models/<i> */

	snprintf(path, sizeof(path), "%.*s/stages/%u/replicas/%u", (int)model, b->c.path,
		 later->a, later->b);
	cp_json_error_at(&b->c, path, CP_JSON_AT_VALUE,
			 "same address %s:%u as stages/%u/replicas/%u of this model",
			 cp_json_ipv4_format((uint32_t)(later->key >> 16), a, sizeof(a)),
			 (unsigned)(later->key & 0xffff), first->a, first->b);
}

static void
stages_read(struct pol_build *b, const json_t *obj, struct cp_model *md)
{
	struct cp_json_ctx *c = &b->c;
	struct model_addrs ma = { 0 };
	json_t *arr = NULL, *v;
	size_t i, mark;

	if (cp_json_get_array(c, obj, "stages", true, 1, CP_STAGES_MAX, &arr) != CP_JSON_OK)
		return;
	md->stages = calloc(json_array_size(arr), sizeof(*md->stages));
	ma.cap = replicas_count(arr);
	ma.v = calloc(ma.cap != 0 ? ma.cap : 1, sizeof(*ma.v));
	if (md->stages == NULL || ma.v == NULL) {
		free(ma.v);
		b->err = -ENOMEM;
		return;
	}
	md->n_stages = (uint16_t)json_array_size(arr);
	mark = cp_json_push_key(c, "stages");
	json_array_foreach(arr, i, v) {
		size_t m = cp_json_push_index(c, i);

		if (cp_json_want_object(c, v))
			stage_read(b, v, i, &md->stages[i], &ma);
		cp_json_pop(c, m);
	}
	cp_json_pop(c, mark);
	/* One address in two places would make the gateway forward a stage's
	 * output back into the model at the wrong point. */
	pol_addrs_dups(ma.v, ma.n, replica_dup, b);
	free(ma.v);
}

static void
reply_read(struct pol_build *b, const json_t *obj, struct cp_model *md)
{
	struct cp_json_ctx *c = &b->c;
	json_t *v = json_object_get(obj, "reply_to");
	size_t m;

	md->reply_to_requester = true;
	if (v == NULL)
		return;
	m = cp_json_push_key(c, "reply_to");
	if (json_is_string(v) && strcmp(json_string_value(v), "requester") == 0) {
		/* the default, spelt out */
	} else if (json_is_object(v)) {
		uint64_t port = 0;
		uint32_t nd;

		md->reply_to_requester = false;
		cp_json_keys_check(c, v, reply_keys);
		nd = pol_node_ref(b, v, "node", 0);
		if (nd != UINT32_MAX)
			md->reply_ip = b->p->nodes[nd].ip;
		cp_json_get_uint(c, v, "port", true, 1, 65535, &port);
		md->reply_port = (uint16_t)port;
	} else {
		char d[64];

		cp_json_error(c, "expected \"requester\" or an object {\"node\", \"port\"}, got %s",
			      cp_json_describe(v, d, sizeof(d)));
	}
	cp_json_pop(c, m);
}

static void
requesters_read(struct pol_build *b, const json_t *obj, struct cp_model *md)
{
	struct cp_json_ctx *c = &b->c;
	json_t *arr = NULL, *v;
	size_t i, mark;

	if (cp_json_get_array(c, obj, "requesters", true, 1, CP_REQUESTERS_MAX, &arr) != CP_JSON_OK)
		return;
	md->requesters = calloc(json_array_size(arr), sizeof(*md->requesters));
	if (md->requesters == NULL) {
		b->err = -ENOMEM;
		return;
	}
	mark = cp_json_push_key(c, "requesters");
	json_array_foreach(arr, i, v) {
		size_t m = cp_json_push_index(c, i);
		uint32_t nd = pol_node_ref_value(b, v, CP_ROLE_REQUESTER);

		for (uint32_t k = 0; nd != UINT32_MAX && k < md->n_requesters; k++) {
			if (md->requesters[k] == nd) {
				cp_json_error(c, "node \"%s\" is listed twice", b->p->nodes[nd].id);
				nd = UINT32_MAX;
			}
		}
		if (nd != UINT32_MAX)
			md->requesters[md->n_requesters++] = nd;
		cp_json_pop(c, m);
	}
	cp_json_pop(c, mark);
}

static void
model_read(struct pol_build *b, const json_t *obj, struct cp_model *md)
{
	uint64_t id = 0;

	cp_json_keys_check(&b->c, obj, model_keys);
	cp_json_get_uint(&b->c, obj, "id", true, 1, CP_MODELS_MAX, &id);
	md->id = (uint16_t)id;
	md->tenant = pol_tenant_ref(b, obj);
	md->class_idx = pol_class_ref(b, obj, CP_CLASS_INFERENCE);
	md->keyed = pol_key_file(b, obj, md->key);
	stages_read(b, obj, md);
	reply_read(b, obj, md);
	requesters_read(b, obj, md);
}

void
pol_models_read(struct pol_build *b, const json_t *root)
{
	json_t *arr = NULL, *v;
	size_t i, mark, n;

	if (cp_json_get_array(&b->c, root, "models", false, 0, CP_MODELS_MAX, &arr) != CP_JSON_OK)
		return;
	n = json_array_size(arr);
	b->p->models = calloc(n != 0 ? n : 1, sizeof(*b->p->models));
	if (b->p->models == NULL) {
		b->err = -ENOMEM;
		return;
	}
	b->p->n_models = (uint32_t)n;
	mark = cp_json_push_key(&b->c, "models");
	json_array_foreach(arr, i, v) {
		size_t m = cp_json_push_index(&b->c, i);

		if (cp_json_want_object(&b->c, v))
			model_read(b, v, &b->p->models[i]);
		cp_json_pop(&b->c, m);
		if (b->err != 0)
			break;
	}
	cp_json_pop(&b->c, mark);
}

static void
model_id_dup(struct pol_build *b, const struct pol_addr *later, const struct pol_addr *first)
{
	char path[40];

	snprintf(path, sizeof(path), "/models/%u/id", later->a);
	cp_json_error_at(&b->c, path, CP_JSON_AT_VALUE, "duplicate model id %u (also /models/%u)",
			 (unsigned)later->key, first->a);
}

void
pol_models_check(struct pol_build *b)
{
	struct pol_addr *ids;
	size_t n = 0;

	if (b->p->n_models == 0)
		return;
	ids = calloc(b->p->n_models, sizeof(*ids));
	if (ids == NULL) {
		b->err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < b->p->n_models; i++)
		if (b->p->models[i].id != 0)
			ids[n++] = (struct pol_addr){ b->p->models[i].id, i, 0 };
	pol_addrs_dups(ids, n, model_id_dup, b);
	free(ids);
}
