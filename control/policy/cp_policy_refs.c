/* SPDX-License-Identifier: BSD-3-Clause */
/* References between sections: id indexes, lookups, and address overlaps.
 * Everything is sorted and searched, so a policy of 10,000 jobs and nodes
 * validates in O(n log n), not O(n^2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_policy_priv.h"

const char *
pol_kind_name(enum cp_class_kind k)
{
	switch (k) {
	case CP_CLASS_CONTROL:
		return "control";
	case CP_CLASS_INFERENCE:
		return "inference";
	case CP_CLASS_TRAINING:
		return "training";
	}
	return "?";
}

const char *
pol_role_name(enum cp_role r)
{
	switch (r) {
	case CP_ROLE_WORKER:
		return "worker";
	case CP_ROLE_STAGE:
		return "stage";
	case CP_ROLE_REQUESTER:
		return "requester";
	case CP_ROLE_GATEWAY:
		return "gateway";
	}
	return "?";
}

static int
name_cmp(const void *a, const void *b)
{
	const struct pol_name *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

int
pol_names_build(struct pol_build *b, struct pol_names *ix, const void *base,
		size_t stride, uint32_t n, const char *section, const char *kind)
{
	uint32_t k = 0;

	ix->v = calloc(n != 0 ? n : 1, sizeof(*ix->v));
	ix->n = 0;
	if (ix->v == NULL) {
		b->err = -ENOMEM;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		const char *name = (const char *)base + (size_t)i * stride;

		if (name[0] != '\0')
			ix->v[ix->n++] = (struct pol_name){ name, i };
	}
	qsort(ix->v, ix->n, sizeof(*ix->v), name_cmp);
	/* Keep the first of equal ids, so references resolve to it; report
	 * the others where they stand. */
	for (uint32_t i = 0; i < ix->n; i++) {
		if (k > 0 && strcmp(ix->v[k - 1].name, ix->v[i].name) == 0) {
			char path[48];

			snprintf(path, sizeof(path), "/%s/%u/id", section, ix->v[i].idx);
			cp_json_error_at(&b->c, path, CP_JSON_AT_VALUE,
					 "duplicate %s id \"%s\" (also /%s/%u)", kind,
					 ix->v[i].name, section, ix->v[k - 1].idx);
			continue;
		}
		ix->v[k++] = ix->v[i];
	}
	ix->n = k;
	return 0;
}

int64_t
pol_names_find(const struct pol_names *ix, const char *name)
{
	uint32_t lo = 0, hi = ix->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, ix->v[mid].name);

		if (c == 0)
			return ix->v[mid].idx;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

void
pol_names_unknown(struct pol_build *b, const struct pol_names *ix,
		  const char *kind, const char *name)
{
	struct cp_json_suggest sg;

	cp_json_suggest_init(&sg, name);
	for (uint32_t i = 0; i < ix->n; i++)
		cp_json_suggest_offer(&sg, ix->v[i].name);
	if (cp_json_suggest_best(&sg) != NULL)
		cp_json_error(&b->c, "unknown %s \"%s\" (did you mean \"%s\"?)", kind, name,
			      cp_json_suggest_best(&sg));
	else
		cp_json_error(&b->c, "unknown %s \"%s\"", kind, name);
}

void
pol_names_free(struct pol_names *ix)
{
	free(ix->v);
	ix->v = NULL;
	ix->n = 0;
}

uint32_t
pol_tenant_ref(struct pol_build *b, const json_t *obj)
{
	char id[CP_ID_MAX];
	int64_t t;
	size_t m;

	switch (cp_json_get_id(&b->c, obj, "tenant", false, id, sizeof(id))) {
	case CP_JSON_BAD:
		return UINT32_MAX;
	case CP_JSON_ABSENT:
		t = pol_names_find(&b->tenants, "default");
		if (t < 0)
			cp_json_error(&b->c, "no \"tenant\" given and no tenant \"default\" "
				      "defined: add \"tenant\"");
		return t < 0 ? UINT32_MAX : (uint32_t)t;
	default:
		break;
	}
	t = pol_names_find(&b->tenants, id);
	if (t >= 0)
		return (uint32_t)t;
	m = cp_json_push_key(&b->c, "tenant");
	pol_names_unknown(b, &b->tenants, "tenant", id);
	cp_json_pop(&b->c, m);
	return UINT32_MAX;
}

uint32_t
pol_class_ref(struct pol_build *b, const json_t *obj, enum cp_class_kind want)
{
	const struct cp_class *k;
	char id[CP_ID_MAX];
	int64_t i;
	size_t m;

	switch (cp_json_get_id(&b->c, obj, "class", false, id, sizeof(id))) {
	case CP_JSON_BAD:
		return UINT32_MAX;
	case CP_JSON_ABSENT:
		for (uint32_t j = 0; j < b->p->n_classes; j++)
			if (b->p->classes[j].kind == want && b->p->classes[j].id[0] != '\0' &&
			    !(b->class_kind_bad & (1u << j)))
				return j;
		cp_json_error(&b->c, "no \"class\" given and no class of kind \"%s\" defined",
			      pol_kind_name(want));
		return UINT32_MAX;
	default:
		break;
	}
	m = cp_json_push_key(&b->c, "class");
	i = pol_names_find(&b->classes, id);
	if (i < 0) {
		pol_names_unknown(b, &b->classes, "class", id);
	} else if (b->class_kind_bad & (1u << i)) {
		i = -1;   /* reported at the class itself */
	} else {
		k = &b->p->classes[i];
		if (k->kind != want) {
			cp_json_error(&b->c, "class \"%s\" is of kind \"%s\"; %s needs a class of "
				      "kind \"%s\"", id, pol_kind_name(k->kind),
				      want == CP_CLASS_TRAINING ? "a job" : "a model",
				      pol_kind_name(want));
			i = -1;
		}
	}
	cp_json_pop(&b->c, m);
	return i < 0 ? UINT32_MAX : (uint32_t)i;
}

static uint32_t
node_resolve(struct pol_build *b, const char *id, uint32_t want)
{
	const struct cp_node *nd;
	char wanted[64] = "", roles[48] = "";
	int64_t i = pol_names_find(&b->nodes, id);

	if (i < 0) {
		pol_names_unknown(b, &b->nodes, "node", id);
		return UINT32_MAX;
	}
	nd = &b->p->nodes[i];
	if (want == 0 || (nd->roles & want))
		return (uint32_t)i;
	for (uint32_t r = CP_ROLE_WORKER; r <= CP_ROLE_GATEWAY; r <<= 1) {
		if (want & r)
			snprintf(wanted + strlen(wanted), sizeof(wanted) - strlen(wanted),
				 "%s\"%s\"", wanted[0] != '\0' ? " or " : "", pol_role_name(r));
		if (nd->roles & r)
			snprintf(roles + strlen(roles), sizeof(roles) - strlen(roles), "%s%s",
				 roles[0] != '\0' ? ", " : "", pol_role_name(r));
	}
	cp_json_error(&b->c, "node \"%s\" lacks the role %s (its roles: %s)", id, wanted,
		      roles[0] != '\0' ? roles : "none");
	return UINT32_MAX;
}

uint32_t
pol_node_ref(struct pol_build *b, const json_t *obj, const char *key, uint32_t roles)
{
	char id[CP_ID_MAX];
	uint32_t i;
	size_t m;

	if (cp_json_get_id(&b->c, obj, key, true, id, sizeof(id)) != CP_JSON_OK)
		return UINT32_MAX;
	m = cp_json_push_key(&b->c, key);
	i = node_resolve(b, id, roles);
	cp_json_pop(&b->c, m);
	return i;
}

uint32_t
pol_node_ref_value(struct pol_build *b, const json_t *v, uint32_t roles)
{
	char d[64];

	if (!json_is_string(v) || !cp_json_id_valid(json_string_value(v), CP_ID_MAX - 1)) {
		cp_json_error(&b->c, "expected a node id, got %s", cp_json_describe(v, d, sizeof(d)));
		return UINT32_MAX;
	}
	return node_resolve(b, json_string_value(v), roles);
}

static int
addr_cmp(const void *pa, const void *pb)
{
	const struct pol_addr *x = pa, *y = pb;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return (x->b > y->b) - (x->b < y->b);
}

void
pol_addrs_dups(struct pol_addr *v, size_t n,
	       void (*dup)(struct pol_build *, const struct pol_addr *,
			   const struct pol_addr *),
	       struct pol_build *b)
{
	size_t first = 0;

	/* Most calls sort one job's ranks or one model's replicas: a handful.
	 * Insertion sort (stable, like glibc's merge sort, so duplicates are
	 * reported against the same first element) spares qsort's set-up. */
	if (n <= 16) {
		for (size_t i = 1; i < n; i++) {
			struct pol_addr x = v[i];
			size_t j = i;

			for (; j > 0 && addr_cmp(&v[j - 1], &x) > 0; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
	} else {
		qsort(v, n, sizeof(*v), addr_cmp);
	}
	for (size_t i = 1; i < n; i++) {
		if (v[i].key != v[first].key)
			first = i;
		else
			dup(b, &v[i], &v[first]);
	}
}
