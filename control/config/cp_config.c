/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cp_config.h"
#include "cp_json.h"
#include "dp_proto.h"

#define CP_LCORE_ID_MAX 127u       /* RTE_MAX_LCORE - 1 in Debian's DPDK */
#define CP_MTU_MIN 576u
#define CP_MTU_MAX 9216u
/* Smallest possible footprint of one packet mbuf: RTE_MBUF_DEFAULT_BUF_SIZE
 * (2048 + 128 headroom) plus struct rte_mbuf (128). The real pool needs more
 * (object headers, per-lcore caches), so a budget below this always fails. */
#define CP_MBUF_SIZE_MIN 2304u

static const char *const top_keys[] = {
	"ports", "main_lcore", "data_lcores", "udp_port", "hugepages", "memory_mb",
	"mbufs", "burst", "slot_memory", "policy", "watch_policy", "eal_args", "data_cpus",
	"tx_scheduler", "tx_rate_mbps", "capture", "idle_poll", "idle_after_polls",
	"idle_sleep_max_us", NULL,
};

static const char *const tx_sched_names[] = { "priority", "fifo", "off" };

static const char *const port_keys[] = { "name", "vdev", "pci", "ip", "mtu", NULL };

/* EAL options the gateway derives from the configuration itself. */
static const struct {
	const char *opt;
	const char *from;
} eal_reserved[] = {
	{ "-l", "\"data_lcores\" and \"main_lcore\"" },
	{ "-c", "\"data_lcores\" and \"main_lcore\"" },
	{ "--lcores", "\"data_lcores\" and \"main_lcore\"" },
	{ "--main-lcore", "\"main_lcore\"" },
	{ "--master-lcore", "\"main_lcore\"" },
	{ "-m", "\"memory_mb\"" },
	{ "--socket-mem", "\"memory_mb\"" },
	{ "--no-huge", "\"hugepages\"" },
	{ "--vdev", "\"ports\"" },
	{ "-a", "\"ports\"" },
	{ "--allow", "\"ports\"" },
	{ "--file-prefix", "daitn-gw --file-prefix (or $DAITN_FILE_PREFIX)" },
};

/* Unicast addresses only: 0/8, 127/8 and 224/3 (multicast, reserved,
 * broadcast) cannot be a port's or a worker's address. */
bool
cp_config_ip_unicast(uint32_t ip)
{
	uint8_t a = (uint8_t)(ip >> 24);

	return a != 0 && a != 127 && a < 224;
}

static bool
vdev_valid(const char *s)
{
	size_t n = strcspn(s, ",");

	if (strncmp(s, "net_", 4) != 0 || n <= 4)
		return false;
	for (size_t i = 4; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9') && s[i] != '_')
			return false;
	return strpbrk(s, " \t\n") == NULL;
}

static bool
hex_field(const char **s, unsigned digits, unsigned max)
{
	unsigned v = 0;

	for (unsigned i = 0; i < digits; i++) {
		char ch = (*s)[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (unsigned)(ch - 'A' + 10);
		else
			return false;
	}
	*s += digits;
	return v <= max;
}

/* "DDDD:BB:DD.F" or "BB:DD.F", the forms the EAL's -a takes. */
static bool
pci_valid(const char *s)
{
	const char *p = s;

	if (strlen(s) == 12 && (!hex_field(&p, 4, 0xffff) || *p++ != ':'))
		return false;
	if (strlen(p) != 7)
		return false;
	return hex_field(&p, 2, 0xff) && *p++ == ':' && hex_field(&p, 2, 0x1f) &&
	       *p++ == '.' && hex_field(&p, 1, 7) && *p == '\0';
}

/* The EAL identifies a vdev by its name before the first comma. */
static size_t
device_key_len(const struct cp_port_cfg *p)
{
	return p->is_pci ? strlen(p->device) : strcspn(p->device, ",");
}

static void
port_read(struct cp_json_ctx *c, const json_t *obj, struct cp_port_cfg *p)
{
	const char *vdev = NULL, *pci = NULL;
	uint64_t mtu = 0;

	cp_json_keys_check(c, obj, port_keys);
	cp_json_get_id(c, obj, "name", true, p->name, sizeof(p->name));
	if (cp_json_get_string(c, obj, "vdev", false, sizeof(p->device) - 1, &vdev) == CP_JSON_OK) {
		size_t mark = cp_json_push_key(c, "vdev");

		if (!vdev_valid(vdev))
			cp_json_error(c, "not a network vdev (\"%.60s\"): use \"net_<driver><n>"
				      "[,key=value...]\", e.g. \"net_af_packet0,iface=eth0\"", vdev);
		else
			snprintf(p->device, sizeof(p->device), "%s", vdev);
		cp_json_pop(c, mark);
	}
	if (cp_json_get_string(c, obj, "pci", false, sizeof(p->device) - 1, &pci) == CP_JSON_OK) {
		size_t mark = cp_json_push_key(c, "pci");

		if (!pci_valid(pci))
			cp_json_error(c, "not a PCI address (\"%.60s\"): use \"DDDD:BB:DD.F\", "
				      "e.g. \"0000:01:00.0\"", pci);
		else if (vdev == NULL)
			snprintf(p->device, sizeof(p->device), "%s", pci);
		p->is_pci = vdev == NULL;
		cp_json_pop(c, mark);
	}
	if (json_object_get(obj, "vdev") != NULL && json_object_get(obj, "pci") != NULL)
		cp_json_error(c, "give either \"vdev\" or \"pci\", not both");
	else if (json_object_get(obj, "vdev") == NULL && json_object_get(obj, "pci") == NULL)
		cp_json_error(c, "no device: add \"vdev\" (e.g. \"net_af_packet0,iface=eth0\") "
			      "or \"pci\" (e.g. \"0000:01:00.0\")");
	if (cp_json_get_ipv4(c, obj, "ip", true, &p->ip) == CP_JSON_OK &&
	    !cp_config_ip_unicast(p->ip)) {
		char a[16];
		size_t mark = cp_json_push_key(c, "ip");

		cp_json_error(c, "%s is not a unicast address", cp_json_ipv4_format(p->ip, a, sizeof(a)));
		cp_json_pop(c, mark);
	}
	if (cp_json_get_uint(c, obj, "mtu", false, CP_MTU_MIN, CP_MTU_MAX, &mtu) == CP_JSON_OK)
		p->mtu = (uint16_t)mtu;
}

static void
ports_read(struct cp_json_ctx *c, const json_t *root, struct cp_gw_config *cfg)
{
	json_t *arr = NULL, *v;
	size_t i, mark;

	if (cp_json_get_array(c, root, "ports", true, 1, CP_PORTS_MAX, &arr) != CP_JSON_OK)
		return;
	mark = cp_json_push_key(c, "ports");
	json_array_foreach(arr, i, v) {
		struct cp_port_cfg *p = &cfg->ports[i];
		size_t m = cp_json_push_index(c, i);

		if (cp_json_want_object(c, v)) {
			port_read(c, v, p);
			for (size_t j = 0; j < i; j++) {
				const struct cp_port_cfg *q = &cfg->ports[j];
				size_t n = device_key_len(p);
				char other[32];

				snprintf(other, sizeof(other), "/ports/%zu", j);
				if (p->name[0] != '\0' && strcmp(p->name, q->name) == 0)
					cp_json_error_at(c, c->path, CP_JSON_AT_VALUE,
							 "duplicate port name \"%s\" (also %s)", p->name, other);
				if (p->ip != 0 && p->ip == q->ip)
					cp_json_error_at(c, c->path, CP_JSON_AT_VALUE,
							 "same ip as %s: each port needs its own address", other);
				if (p->device[0] != '\0' && p->is_pci == q->is_pci &&
				    n == device_key_len(q) && strncmp(p->device, q->device, n) == 0)
					cp_json_error_at(c, c->path, CP_JSON_AT_VALUE,
							 "same device \"%.*s\" as %s", (int)n, p->device, other);
			}
		}
		cp_json_pop(c, m);
	}
	cfg->n_ports = (unsigned)json_array_size(arr);
	cp_json_pop(c, mark);
}

static void
lcores_read(struct cp_json_ctx *c, const json_t *root, struct cp_gw_config *cfg)
{
	uint64_t main_lcore = 0;
	bool main_ok;
	json_t *arr = NULL, *v;
	size_t i, mark;

	main_ok = cp_json_get_uint(c, root, "main_lcore", false, 0, CP_LCORE_ID_MAX,
				   &main_lcore) != CP_JSON_BAD;
	cfg->main_lcore = (unsigned)main_lcore;
	if (cp_json_get_array(c, root, "data_lcores", true, 1, CP_LCORES_MAX, &arr) != CP_JSON_OK)
		return;
	mark = cp_json_push_key(c, "data_lcores");
	json_array_foreach(arr, i, v) {
		size_t m = cp_json_push_index(c, i);
		json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;

		if (!json_is_integer(v)) {
			char d[64];

			cp_json_error(c, "expected an lcore id (an integer), got %s",
				      cp_json_describe(v, d, sizeof(d)));
		} else if (id < 0 || id > (json_int_t)CP_LCORE_ID_MAX) {
			cp_json_error(c, "must be between 0 and %u (got %" JSON_INTEGER_FORMAT ")",
				      CP_LCORE_ID_MAX, id);
		} else if (main_ok && (unsigned)id == cfg->main_lcore) {
			cp_json_error(c, "lcore %u is the main lcore; data lcores must differ "
				      "from \"main_lcore\"", cfg->main_lcore);
		} else {
			for (size_t j = 0; j < i; j++)
				if (cfg->data_lcores[j] == (unsigned)id)
					cp_json_error(c, "lcore %u is listed twice (also /data_lcores/%zu)",
						      (unsigned)id, j);
		}
		cfg->data_lcores[i] = id >= 0 ? (unsigned)id : UINT32_MAX;
		cp_json_pop(c, m);
	}
	cfg->n_data_lcores = (unsigned)json_array_size(arr);
	cp_json_pop(c, mark);
}

/* "data_cpus": one CPU per data lcore, in the order of "data_lcores".
 * Several lcores may share a CPU (a test on a small machine, or gateways
 * with adaptive idle polling): EAL --lcores maps them. */
static void
data_cpus_read(struct cp_json_ctx *c, const json_t *root, struct cp_gw_config *cfg)
{
	json_t *arr = NULL, *v;
	size_t i, mark;

	if (cp_json_get_array(c, root, "data_cpus", false, 1, CP_LCORES_MAX, &arr) != CP_JSON_OK)
		return;
	mark = cp_json_push_key(c, "data_cpus");
	if (json_array_size(arr) != cfg->n_data_lcores)
		cp_json_error(c, "has %zu CPUs for %u data lcores: give one per data lcore, "
			      "in the order of \"data_lcores\"", json_array_size(arr),
			      cfg->n_data_lcores);
	json_array_foreach(arr, i, v) {
		size_t m = cp_json_push_index(c, i);
		json_int_t cpu = json_is_integer(v) ? json_integer_value(v) : -1;

		if (cpu < 0 || cpu > (json_int_t)CP_LCORE_ID_MAX) {
			char d[64];

			cp_json_error(c, "expected a CPU number 0 .. %u, got %s", CP_LCORE_ID_MAX,
				      cp_json_describe(v, d, sizeof(d)));
		} else if (i < CP_LCORES_MAX) {
			cfg->data_cpus[i] = (unsigned)cpu;
		}
		cp_json_pop(c, m);
	}
	cfg->has_data_cpus = true;
	cp_json_pop(c, mark);
}

static void
eal_args_read(struct cp_json_ctx *c, const json_t *root, struct cp_gw_config *cfg)
{
	json_t *arr = NULL, *v;
	size_t i, mark;

	if (cp_json_get_array(c, root, "eal_args", false, 0, CP_EAL_ARGS_MAX, &arr) != CP_JSON_OK)
		return;
	mark = cp_json_push_key(c, "eal_args");
	json_array_foreach(arr, i, v) {
		size_t m = cp_json_push_index(c, i);
		const char *s = json_string_value(v);
		char d[64];

		if (!json_is_string(v) || strlen(s) == 0) {
			cp_json_error(c, "expected a non-empty string, got %s",
				      cp_json_describe(v, d, sizeof(d)));
		} else if (strlen(s) >= sizeof(cfg->eal_args[0])) {
			cp_json_error(c, "longer than %zu characters", sizeof(cfg->eal_args[0]) - 1);
		} else {
			for (size_t k = 0; k < sizeof(eal_reserved) / sizeof(eal_reserved[0]); k++) {
				const char *o = eal_reserved[k].opt;
				size_t n = strlen(o);
				/* "-l1", "--vdev=x": short options take glued values, long ones "=". */
				bool hit = strncmp(s, o, n) == 0 &&
					   (s[n] == '\0' || (o[1] != '-' ? true : s[n] == '='));

				if (hit)
					cp_json_error(c, "\"%s\" is set from %s; remove it", o,
						      eal_reserved[k].from);
			}
			snprintf(cfg->eal_args[i], sizeof(cfg->eal_args[i]), "%s", s);
		}
		cp_json_pop(c, m);
	}
	cfg->n_eal_args = (unsigned)json_array_size(arr);
	cp_json_pop(c, mark);
}

/* A relative policy path is taken from the configuration file's folder, so
 * the pair can be moved together and run from any working directory. */
static void
policy_path_resolve(struct cp_json_ctx *c, const char *cfg_path, const char *policy,
		    struct cp_gw_config *cfg)
{
	char *real = NULL, *dir;
	size_t mark = cp_json_push_key(c, "policy");
	int n;

	if (policy[0] == '/') {
		n = snprintf(cfg->policy_path, sizeof(cfg->policy_path), "%s", policy);
	} else {
		real = realpath(cfg_path, NULL);
		if (real == NULL) {
			cp_json_error(c, "cannot resolve the configuration's folder: %s", strerror(errno));
			goto out;
		}
		dir = dirname(real);
		n = snprintf(cfg->policy_path, sizeof(cfg->policy_path), "%s/%s",
			     strcmp(dir, "/") == 0 ? "" : dir, policy);
	}
	if (n < 0 || (size_t)n >= sizeof(cfg->policy_path)) {
		cp_json_error(c, "path too long once resolved");
		cfg->policy_path[0] = '\0';
	}
out:
	free(real);
	cp_json_pop(c, mark);
}

static void
budget_check(struct cp_json_ctx *c, const struct cp_gw_config *cfg)
{
	uint64_t mib = 1u << 20;
	uint64_t slots = cfg->slot_memory * cfg->n_data_lcores;
	uint64_t mbufs = (uint64_t)cfg->mbufs * CP_MBUF_SIZE_MIN * cfg->n_data_lcores;
	uint64_t need = (slots + mbufs + mib - 1) / mib;
	char s[32];

	if (cfg->n_data_lcores == 0 || need <= cfg->memory_mb)
		return;
	cp_json_error_at(c, "/memory_mb", CP_JSON_AT_VALUE,
			 "too small: %u data lcore%s need at least %llu MiB (each: slot_memory "
			 "%s and %u mbufs of at least %u bytes); raise memory_mb",
			 cfg->n_data_lcores, cfg->n_data_lcores == 1 ? "" : "s",
			 (unsigned long long)need,
			 cp_json_size_format(cfg->slot_memory, s, sizeof(s)),
			 cfg->mbufs, CP_MBUF_SIZE_MIN);
}

static void
tx_read(struct cp_json_ctx *c, const json_t *root, struct cp_gw_config *cfg)
{
	const char *mode = NULL;
	uint64_t mbps = 0;

	if (cp_json_get_string(c, root, "tx_scheduler", false, 16, &mode) == CP_JSON_OK) {
		unsigned k;

		for (k = 0; k < sizeof(tx_sched_names) / sizeof(tx_sched_names[0]); k++)
			if (strcmp(mode, tx_sched_names[k]) == 0)
				break;
		if (k < sizeof(tx_sched_names) / sizeof(tx_sched_names[0]))
			cfg->tx_scheduler = (enum cp_tx_sched)k;
		else
			cp_json_error_at(c, "/tx_scheduler", CP_JSON_AT_VALUE,
					 "\"%s\": expected \"priority\", \"fifo\" or \"off\"", mode);
	}
	cp_json_get_uint(c, root, "tx_rate_mbps", false, 0, 10000000, &mbps);
	cfg->tx_rate_mbps = (uint32_t)mbps;
}

/* How a data lcore polls when no packet comes: "busy" (every iteration, a
 * core at 100%) or "adaptive" (after idle_after_polls empty polls it sleeps,
 * 1 us doubling up to idle_sleep_max_us, and polls at full rate again from
 * the first packet). */
static void
idle_read(struct cp_json_ctx *c, const json_t *root, struct cp_gw_config *cfg)
{
	const char *mode = NULL;
	uint64_t after = 1024, max_us = 250;

	if (cp_json_get_string(c, root, "idle_poll", false, 16, &mode) == CP_JSON_OK) {
		if (strcmp(mode, "adaptive") == 0)
			cfg->idle_adaptive = true;
		else if (strcmp(mode, "busy") != 0)
			cp_json_error_at(c, "/idle_poll", CP_JSON_AT_VALUE,
					 "\"%s\": expected \"busy\" or \"adaptive\"", mode);
	}
	cp_json_get_uint(c, root, "idle_after_polls", false, 1, 10000000, &after);
	cp_json_get_uint(c, root, "idle_sleep_max_us", false, 1, 100000, &max_us);
	cfg->idle_after_polls = (uint32_t)after;
	cfg->idle_sleep_max_us = (uint32_t)max_us;
}

static void
config_read(struct cp_json_ctx *c, const json_t *root, const char *path,
	    struct cp_gw_config *cfg)
{
	uint64_t udp_port = DP_PROTO_UDP_PORT_DEFAULT, memory_mb = 512, mbufs = 16383;
	uint64_t burst = 32;
	bool budget_known = true;
	const char *policy = NULL;

	cfg->hugepages = true;
	cfg->watch_policy = true;
	cfg->slot_memory = 64u << 20;
	cp_json_keys_check(c, root, top_keys);
	ports_read(c, root, cfg);
	lcores_read(c, root, cfg);
	/* Shard k listens on udp_port + k; the default cannot overflow. */
	if (cp_json_get_uint(c, root, "udp_port", false, 1, 65535, &udp_port) == CP_JSON_OK &&
	    cfg->n_data_lcores > 0 && udp_port + cfg->n_data_lcores - 1 > 65535)
		cp_json_error_at(c, "/udp_port", CP_JSON_AT_VALUE,
				 "shard ports %u..%u run past 65535: lower udp_port",
				 (unsigned)udp_port, (unsigned)udp_port + cfg->n_data_lcores - 1);
	cfg->udp_port = (uint16_t)udp_port;
	cp_json_get_bool(c, root, "hugepages", false, &cfg->hugepages);
	if (cp_json_get_bool(c, root, "capture", false, &cfg->capture) == CP_JSON_OK &&
	    cfg->capture && !cfg->hugepages)
		cp_json_error_at(c, "/capture", CP_JSON_AT_VALUE, "needs \"hugepages\": true "
				 "(a capture process shares the gateway's hugepage memory)");
	if (cp_json_get_uint(c, root, "memory_mb", false, 64, 1u << 20, &memory_mb) == CP_JSON_BAD)
		budget_known = false;
	cfg->memory_mb = (uint32_t)memory_mb;
	if (cp_json_get_uint(c, root, "mbufs", false, 255, (1u << 24) - 1, &mbufs) == CP_JSON_BAD)
		budget_known = false;
	cfg->mbufs = (uint32_t)mbufs;
	cp_json_get_uint(c, root, "burst", false, 1, 256, &burst);
	cfg->burst = (uint32_t)burst;
	if (cp_json_get_size(c, root, "slot_memory", false, 64u << 10, UINT64_C(1) << 40,
			     &cfg->slot_memory) == CP_JSON_BAD)
		budget_known = false;
	if (budget_known)
		budget_check(c, cfg);
	if (cp_json_get_string(c, root, "policy", true, PATH_MAX - 1, &policy) == CP_JSON_OK)
		policy_path_resolve(c, path, policy, cfg);
	cp_json_get_bool(c, root, "watch_policy", false, &cfg->watch_policy);
	data_cpus_read(c, root, cfg);
	eal_args_read(c, root, cfg);
	tx_read(c, root, cfg);
	idle_read(c, root, cfg);
}

int
cp_config_parse(const char *text, size_t len, const char *name, struct cp_gw_config *out,
		struct cp_diags *diags)
{
	struct cp_json_ctx c;
	unsigned first = diags->n;
	json_t *root;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", name);
	cp_json_ctx_init(&c, name, text, len, diags);
	root = cp_json_ctx_parse(&c);
	if (root != NULL) {
		config_read(&c, root, name, out);
		json_decref(root);
	}
	cp_json_ctx_fini(&c);
	if (c.err != 0)
		return c.err;
	if (cp_diags_sort(diags, first) != 0)
		return -ENOMEM;
	return c.n_errors > 0 ? -EINVAL : 0;
}

int
cp_config_load(const char *path, struct cp_gw_config *out, struct cp_diags *diags)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = cp_json_file_read(path, &text, &len);
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
		snprintf(out->path, sizeof(out->path), "%s", path);
		if (cp_diags_add(diags, path, 0, 0, "", "cannot read: %s", strerror(-rc)) != 0)
			return -ENOMEM;
		return rc;
	}
	rc = cp_config_parse(text, len, path, out, diags);
	free(text);
	return rc;
}
