/* api_resources.c — strict readers and appliers of Firecracker's configuration objects. */
#include "api/api_resources.h"

#include <errno.h>
#include <json-c/json.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_balloon.h"
#include "api/api_json.h"
#include "api/api_mmds.h"
#include "util/compiler.h"
#include "util/log.h"

static int no_memory(char *err, size_t err_len)
{
	snprintf(err, err_len, "Out of memory.");
	return -ENOMEM;
}

static int not_supported(const char *what, char *err, size_t err_len)
{
	snprintf(err, err_len, API_NOT_SUPPORTED_FMT, what);
	return -EOPNOTSUPP;
}

/*
 * struct limit_update - a rate limiter object as given (Firecracker's RateLimiterConfig:
 * optional token buckets `bandwidth` and `ops`, each {size, one_time_burst, refill_time}):
 * @has[0]/@has[1] say whether the bandwidth/ops bucket was named (a PATCH changes only
 * those), @c holds them. A bucket of size or refill_time 0 limits nothing (Firecracker builds
 * none); Kata and others send such objects for every device.
 */
struct limit_update {
	bool has[2];
	struct rate_limit_config c;
};

/* parse_limit - @v into @u: absent or null names no bucket; a malformed one is a fault. */
static int parse_limit(const struct api_value *v, struct limit_update *u, char *err, size_t err_len)
{
	static const struct api_field lf[] = { { "bandwidth", API_F_ANY, false },
					       { "ops", API_F_ANY, false } };
	static const struct api_field bf[] = { { "size", API_F_U64, true },
					       { "one_time_burst", API_F_U64, false },
					       { "refill_time", API_F_U64, true } };
	struct token_bucket_config *tb[2] = { &u->c.bandwidth, &u->c.ops };
	struct api_value l[ARRAY_SIZE(lf)], b[ARRAY_SIZE(bf)];
	int r;

	memset(u, 0, sizeof(*u));
	if (!v->present)
		return 0;
	if ((r = api_json_fields(v->j, lf, ARRAY_SIZE(lf), l, err, err_len)))
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(l); i++) {
		if (!l[i].present)
			continue;
		if ((r = api_json_fields(l[i].j, bf, ARRAY_SIZE(bf), b, err, err_len)))
			return r;
		u->has[i] = true;
		*tb[i] = (struct token_bucket_config){ .size = b[0].u,
						       .one_time_burst = b[1].present ? b[1].u : 0,
						       .refill_time_ms = b[2].u };
		if (!token_bucket_config_valid(tb[i])) {
			snprintf(err, err_len,
				 API_JSON_FAULT
				 "`refill_time` %llu ms is too large (at most %llu).",
				 (unsigned long long)b[2].u,
				 (unsigned long long)(UINT64_MAX / 1000000ull));
			return -EINVAL;
		}
		if (!token_bucket_config_active(tb[i]))
			*tb[i] = (struct token_bucket_config){ 0 };
	}
	return 0;
}

/* limit_apply - a PATCH: the buckets @u names replace those of @c, the others stay. */
static void limit_apply(struct rate_limit_config *c, const struct limit_update *u)
{
	if (u->has[0])
		c->bandwidth = u->c.bandwidth;
	if (u->has[1])
		c->ops = u->c.ops;
}

/* no_limit - a rate limiter that must limit nothing (the entropy device has none yet). */
static int no_limit(const struct api_value *v, const char *what, char *err, size_t err_len)
{
	struct limit_update u;
	int r = parse_limit(v, &u, err, err_len);

	if (r)
		return r;
	return rate_limit_config_active(&u.c) ? not_supported(what, err, err_len) : 0;
}

/* dup_opt - strdup @s into *@out (NULL stays NULL). 0 or -ENOMEM. */
static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int api_res_check_id(const char *id, char *err, size_t err_len)
{
	if (!id || !*id) {
		snprintf(err, err_len, "The ID cannot be empty.");
		return -EINVAL;
	}
	for (const char *p = id; *p; p++) {
		char c = *p;

		if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z'))) {
			snprintf(err, err_len,
				 "API Resource IDs can only contain alphanumeric characters and "
				 "underscores.");
			return -EINVAL;
		}
	}
	if (strlen(id) > 64) {
		snprintf(err, err_len, "API Resource IDs are limited to 64 characters.");
		return -EINVAL;
	}
	return 0;
}

/* The body's id must be valid and, for a request on /x/{id}, equal the path's. */
static int check_body_id(const char *path_id, const char *body_id, char *err, size_t err_len)
{
	if (path_id && strcmp(path_id, body_id)) {
		snprintf(err, err_len, "The id from the path does not match the id from the body!");
		return -EINVAL;
	}
	return api_res_check_id(body_id, err, err_len);
}

/*
 * A file named in a request, checked where it is named (as Firecracker opens it
 * there): present, openable as asked, a regular file (a disk: or a block device
 * no other process holds). A directory, FIFO or device node is refused now,
 * not at InstanceStart.
 */
static int check_host_file(const struct api *api, const char *what, const char *path, bool disk,
			   bool need_write, char *err, size_t err_len)
{
	char why[256];
	int r;

	if (!api->host_files)
		return 0;
	r = vm_config_check_file(what, path, disk, need_write, why, sizeof(why));
	if (r)
		snprintf(err, err_len, "The %s file cannot be used: %s.", what, why);
	return r;
}

/* --- boot-source --- */

int api_res_boot_source(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "kernel_image_path", API_F_STRING, true },
		{ "initrd_path", API_F_STRING, false },
		{ "boot_args", API_F_STRING, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	char *kernel = NULL, *initrd = NULL, *args = NULL;
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if ((r = check_host_file(api, "kernel", v[0].s, false, false, err, err_len)))
		return r;
	if (v[1].present &&
	    (r = check_host_file(api, "initrd", v[1].s, false, false, err, err_len)))
		return r;
	if (dup_opt(v[0].s, &kernel) || dup_opt(v[1].s, &initrd) || dup_opt(v[2].s, &args)) {
		free(kernel);
		free(initrd);
		free(args);
		return no_memory(err, err_len);
	}
	free(api->cfg.kernel_path);
	free(api->cfg.initrd_path);
	free(api->cfg.cmdline);
	api->cfg.kernel_path = kernel;
	api->cfg.initrd_path = initrd;
	api->cfg.cmdline = args;
	api->boot_source_set = true;
	return 0;
}

/* --- machine-config --- */

static const char *const huge_pages_names[] = { "None", "2M", NULL };
static const char *const cpu_template_names[] = { "C3", "T2", "T2S", "T2CL", "T2A", "None", NULL };

int api_res_machine_config(struct api *api, struct json_object *obj, bool patch, char *err,
			   size_t err_len)
{
	const struct api_field f[] = {
		{ "vcpu_count", API_F_U64, !patch },   { "mem_size_mib", API_F_U64, !patch },
		{ "smt", API_F_BOOL, false },	       { "track_dirty_pages", API_F_BOOL, false },
		{ "huge_pages", API_F_STRING, false }, { "cpu_template", API_F_STRING, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	uint64_t vcpus, mem_mib;
	bool smt, dirty, tmpl_given;
	enum cpu_template tmpl;
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (patch) {
		bool any = false;

		for (size_t i = 0; i < ARRAY_SIZE(v); i++)
			any |= v[i].present;
		if (!any) {
			snprintf(err, err_len, "Empty PATCH request.");
			return -EINVAL;
		}
	}
	/* PUT resets what it does not name; PATCH keeps it. */
	vcpus = v[0].present ? v[0].u : api->cfg.cpus;
	mem_mib = v[1].present ? v[1].u : api->cfg.mem_bytes >> 20;
	smt = v[2].present ? v[2].b : (patch ? api->smt : false);
	dirty = v[3].present ? v[3].b : (patch ? api->track_dirty_pages : false);
	tmpl_given = v[5].present ? true : (patch ? api->cpu_template_given : false);
	tmpl = patch ? api->cfg.cpu_template : CPU_TEMPLATE_NONE;

	if (v[4].present) {
		r = api_json_enum("huge_pages", v[4].s, huge_pages_names, err, err_len);
		if (r < 0)
			return r;
		if (r != 0)
			return not_supported("Backing guest memory with huge pages", err, err_len);
	}
	if (v[5].present) {
		r = api_json_enum("cpu_template", v[5].s, cpu_template_names, err, err_len);
		if (r < 0)
			return r;
		/* C3, T2, T2S, T2CL (Intel), T2A (AMD): the host's vendor is checked at the start
		 */
		tmpl = (enum cpu_template)cpu_template_parse(v[5].s);
	}
	if (vcpus < 1 || vcpus > VM_MAX_CPUS) {
		snprintf(err, err_len, "The vCPU number is invalid! vmon supports 1 to %u vCPUs.",
			 VM_MAX_CPUS);
		return -EINVAL;
	}
	if (smt && vcpus > 1 && (vcpus & 1)) {
		snprintf(err, err_len,
			 "The vCPU number is invalid! The vCPU number can only be 1 or an even "
			 "number when SMT is enabled.");
		return -EINVAL;
	}
	if (mem_mib < 1 || mem_mib > (1ull << 30)) {
		snprintf(err, err_len, "The memory size (MiB) is invalid.");
		return -EINVAL;
	}
	api->cfg.cpus = (unsigned)vcpus;
	api->cfg.mem_bytes = mem_mib << 20;
	api->smt = smt;
	api->track_dirty_pages = dirty;
	api->cpu_template_given = tmpl_given;
	api->cfg.cpu_template = tmpl;
	return 0;
}

/* --- drives --- */

static int find_disk(const struct api *api, const char *id)
{
	for (unsigned i = 0; i < api->cfg.nr_disks; i++)
		if (!strcmp(api->cfg.disks[i].id, id))
			return (int)i;
	return -1;
}

static const char *const cache_type_names[] = { "Unsafe", "Writeback", NULL };
static const char *const io_engine_names[] = { "Sync", "Async", NULL };

int api_res_drive_put(struct api *api, const char *path_id, struct json_object *obj, char *err,
		      size_t err_len)
{
	static const struct api_field f[] = {
		{ "drive_id", API_F_STRING, true },	{ "path_on_host", API_F_STRING, false },
		{ "is_root_device", API_F_BOOL, true }, { "is_read_only", API_F_BOOL, false },
		{ "partuuid", API_F_STRING, false },	{ "cache_type", API_F_STRING, false },
		{ "io_engine", API_F_STRING, false },	{ "rate_limiter", API_F_ANY, false },
		{ "socket", API_F_STRING, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	struct vm_disk_config d = { 0 };
	struct vm_config *cfg = &api->cfg;
	struct limit_update lim;
	int idx, r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if ((r = check_body_id(path_id, v[0].s, err, err_len)))
		return r;
	if (v[8].present)
		return not_supported("A vhost-user block device (`socket`)", err, err_len);
	if (!v[1].present) {
		snprintf(err, err_len, API_JSON_FAULT "missing field `path_on_host`.");
		return -EINVAL;
	}
	if (v[4].present)
		return not_supported("Booting from a partition (`partuuid`)", err, err_len);
	/*
	 * Both cache types are accepted and mean the same here: vmon's virtio-blk always offers
	 * VIRTIO_BLK_F_FLUSH and the block backend answers a FLUSH with fdatasync(2), which is
	 * Firecracker's "Writeback". Honouring flushes when "Unsafe" was asked for is safe (the
	 * guest only gains durability); GET /vm/config reports "Writeback", what vmon does.
	 */
	if (v[5].present &&
	    (r = api_json_enum("cache_type", v[5].s, cache_type_names, err, err_len)) < 0)
		return r;
	if (v[6].present &&
	    (r = api_json_enum("io_engine", v[6].s, io_engine_names, err, err_len)) < 0)
		return r;
	if ((r = parse_limit(&v[7], &lim, err, err_len)))
		return r;
	d.limit = lim.c;

	d.read_only = v[3].present && v[3].b;
	d.is_root = v[2].b;
	if ((r = check_host_file(api, "block device", v[1].s, true, !d.read_only, err, err_len)))
		return r;
	idx = find_disk(api, v[0].s);
	if (d.is_root) {
		for (unsigned i = 0; i < cfg->nr_disks; i++) {
			if (cfg->disks[i].is_root && (int)i != idx) {
				snprintf(err, err_len, "A root block device already exists!");
				return -EINVAL;
			}
		}
	}
	if (idx < 0 && cfg->nr_disks >= VM_MAX_DISKS) {
		snprintf(err, err_len, "vmon supports at most %u drives.", VM_MAX_DISKS);
		return -ENOSPC;
	}
	d.id = strdup(v[0].s);
	d.path = strdup(v[1].s);
	if (!d.id || !d.path) {
		free(d.id);
		free(d.path);
		return no_memory(err, err_len);
	}
	/* Applied from here on: nothing can fail. */
	if (idx >= 0) {
		free(cfg->disks[idx].id);
		free(cfg->disks[idx].path);
		memmove(&cfg->disks[idx], &cfg->disks[idx + 1],
			(cfg->nr_disks - (unsigned)idx - 1) * sizeof(cfg->disks[0]));
		cfg->nr_disks--;
	}
	if (d.is_root) {
		memmove(&cfg->disks[1], &cfg->disks[0], cfg->nr_disks * sizeof(cfg->disks[0]));
		cfg->disks[0] = d;
	} else {
		cfg->disks[cfg->nr_disks] = d;
	}
	cfg->nr_disks++;
	return 0;
}

/* A drive's new file: checked, handed to the running VM when @live, then kept in the configuration.
 */
static int drive_set_path(struct api *api, struct vm_disk_config *d, const char *path, bool live,
			  char *err, size_t err_len)
{
	char *copy;
	int r;

	if ((r = check_host_file(api, "block device", path, true, !d->read_only, err, err_len)))
		return r;
	copy = strdup(path);
	if (!copy)
		return no_memory(err, err_len);
	if (live && (r = api->ops->set_disk_path(api->opaque, d->id, path, err, err_len))) {
		free(copy);
		return r;
	}
	free(d->path);
	d->path = copy;
	return 0;
}

int api_res_drive_patch(struct api *api, const char *path_id, struct json_object *obj, char *err,
			size_t err_len)
{
	static const struct api_field f[] = {
		{ "drive_id", API_F_STRING, true },
		{ "path_on_host", API_F_STRING, false },
		{ "rate_limiter", API_F_ANY, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	struct vm_disk_config *d;
	struct limit_update lim;
	struct rate_limit_config nl;
	bool started = api->state != API_NOT_STARTED;
	int idx, r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if ((r = check_body_id(path_id, v[0].s, err, err_len)))
		return r;
	if ((r = parse_limit(&v[2], &lim, err, err_len)))
		return r;
	idx = find_disk(api, v[0].s);
	if (idx < 0) {
		snprintf(err, err_len, "Invalid block device ID: %s.", v[0].s);
		return -ENOENT;
	}
	d = &api->cfg.disks[idx];
	nl = d->limit;
	limit_apply(&nl, &lim);
	if (started) {
		/*
		 * As Firecracker: a new backing file for the running drive (the guest
		 * gets a configuration change and rereads the capacity), then the
		 * rate limiter when one was given.
		 */
		if (v[1].present) {
			if (!api->ops || !api->ops->set_disk_path)
				return not_supported("Changing a drive's file", err, err_len);
			if ((r = drive_set_path(api, d, v[1].s, true, err, err_len)))
				return r;
		}
		if (!v[2].present)
			return 0;
		if (!api->ops || !api->ops->set_disk_limit)
			return not_supported("Changing a drive's rate limiter", err, err_len);
		if ((r = api->ops->set_disk_limit(api->opaque, d->id, &nl, err, err_len)))
			return r;
		d->limit = nl;
		return 0;
	}
	if (v[1].present && (r = drive_set_path(api, d, v[1].s, false, err, err_len)))
		return r;
	d->limit = nl;
	return 0;
}

/* --- network interfaces --- */

int api_res_net_patch(struct api *api, const char *path_id, struct json_object *obj, char *err,
		      size_t err_len)
{
	static const struct api_field f[] = {
		{ "iface_id", API_F_STRING, true },
		{ "rx_rate_limiter", API_F_ANY, false },
		{ "tx_rate_limiter", API_F_ANY, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	struct vm_net_config *n = NULL;
	struct limit_update rx, tx;
	struct rate_limit_config nrx, ntx;
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if ((r = check_body_id(path_id, v[0].s, err, err_len)))
		return r;
	if ((r = parse_limit(&v[1], &rx, err, err_len)) ||
	    (r = parse_limit(&v[2], &tx, err, err_len)))
		return r;
	for (unsigned i = 0; i < api->cfg.nr_nets; i++)
		if (!strcmp(api->cfg.nets[i].id, v[0].s))
			n = &api->cfg.nets[i];
	if (!n) {
		snprintf(err, err_len, "Invalid network interface ID: %s.", v[0].s);
		return -ENOENT;
	}
	nrx = n->rx_limit;
	ntx = n->tx_limit;
	limit_apply(&nrx, &rx);
	limit_apply(&ntx, &tx);
	if (api->state != API_NOT_STARTED) {
		if (!api->ops || !api->ops->set_net_limit)
			return not_supported("Changing a network interface's rate limiters", err,
					     err_len);
		if ((r = api->ops->set_net_limit(api->opaque, n->id, &nrx, &ntx, err, err_len)))
			return r;
	}
	n->rx_limit = nrx;
	n->tx_limit = ntx;
	return 0;
}

int api_res_net_put(struct api *api, const char *path_id, struct json_object *obj, char *err,
		    size_t err_len)
{
	static const struct api_field f[] = {
		{ "iface_id", API_F_STRING, true },	 { "host_dev_name", API_F_STRING, true },
		{ "guest_mac", API_F_STRING, false },	 { "rx_rate_limiter", API_F_ANY, false },
		{ "tx_rate_limiter", API_F_ANY, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	struct vm_config *cfg = &api->cfg;
	struct vm_net_config n = { 0 };
	struct limit_update rx, tx;
	int idx = -1, r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if ((r = check_body_id(path_id, v[0].s, err, err_len)))
		return r;
	if ((r = parse_limit(&v[3], &rx, err, err_len)) ||
	    (r = parse_limit(&v[4], &tx, err, err_len)))
		return r;
	n.rx_limit = rx.c;
	n.tx_limit = tx.c;
	if (!v[1].s[0] || strlen(v[1].s) >= IFNAMSIZ || strchr(v[1].s, '/')) {
		snprintf(err, err_len, "Invalid host device name: `%.64s`.", v[1].s);
		return -EINVAL;
	}
	if (v[2].present) {
		if (parse_mac(v[2].s, n.mac)) {
			snprintf(err, err_len, API_JSON_FAULT "invalid MAC address `%.64s`.",
				 v[2].s);
			return -EINVAL;
		}
		n.has_mac = true;
	}
	for (unsigned i = 0; i < cfg->nr_nets; i++)
		if (!strcmp(cfg->nets[i].id, v[0].s))
			idx = (int)i;
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		if ((int)i == idx)
			continue;
		if (!strcmp(cfg->nets[i].tap, v[1].s)) {
			snprintf(err, err_len, "The host device name %s is already in use.",
				 v[1].s);
			return -EBUSY;
		}
		if (n.has_mac && cfg->nets[i].has_mac && !memcmp(cfg->nets[i].mac, n.mac, 6)) {
			snprintf(err, err_len, "The MAC address %s is already in use.", v[2].s);
			return -EBUSY;
		}
	}
	if (idx < 0 && cfg->nr_nets >= VM_MAX_NETS) {
		snprintf(err, err_len, "vmon supports at most %u network interfaces.", VM_MAX_NETS);
		return -ENOSPC;
	}
	n.id = strdup(v[0].s);
	n.tap = strdup(v[1].s);
	if (!n.id || !n.tap) {
		free(n.id);
		free(n.tap);
		return no_memory(err, err_len);
	}
	if (idx >= 0) {
		free(cfg->nets[idx].id);
		free(cfg->nets[idx].tap);
		cfg->nets[idx] = n;
	} else {
		cfg->nets[cfg->nr_nets++] = n;
	}
	return 0;
}

/* --- entropy, logger, metrics --- */

int api_res_class(struct api *api, const struct virtio_class *cls, struct json_object *obj,
		  char *err, size_t err_len)
{
	static const struct api_field f[] = { { "rate_limiter", API_F_ANY, false } };
	struct api_value v[ARRAY_SIZE(f)];
	char what[96];
	int r;

	if ((r = api_json_fields(obj, f, cls->api_rate_limiter ? ARRAY_SIZE(f) : 0, v, err,
				 err_len)))
		return r;
	snprintf(what, sizeof(what), "An %s device rate limiter", cls->api_name);
	if (cls->api_rate_limiter && (r = no_limit(&v[0], what, err, err_len)))
		return r;
	vm_config_add_class(&api->cfg, cls);
	return 0;
}

/* --- vsock --- */

int api_res_vsock(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "guest_cid", API_F_U64, true },
		{ "uds_path", API_F_STRING, true },
		{ "vsock_id", API_F_STRING, false }, /* older Firecracker clients send it */
	};
	struct api_value v[ARRAY_SIZE(f)];
	char *path, *id = NULL;
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (v[0].u < 3 || v[0].u > UINT32_MAX) {
		snprintf(err, err_len,
			 "Invalid guest_cid %llu: CIDs 0-2 are reserved (2 is the host), and a CID "
			 "is 32 bits.",
			 (unsigned long long)v[0].u);
		return -EINVAL;
	}
	if (!*v[1].s || strlen(v[1].s) + 12 > sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, err_len,
			 "Invalid uds_path '%s': it must name a Unix socket of at most %zu bytes "
			 "(guest connections to port P go to <uds_path>_P).",
			 v[1].s, sizeof(((struct sockaddr_un *)0)->sun_path) - 12);
		return -EINVAL;
	}
	path = strdup(v[1].s);
	if (!path || (v[2].present && !(id = strdup(v[2].s)))) {
		free(path);
		snprintf(err, err_len, "Out of memory.");
		return -ENOMEM;
	}
	free(api->cfg.vsock.uds_path);
	free(api->cfg.vsock.id);
	api->cfg.vsock = (struct vm_vsock_config){ .id = id, .cid = v[0].u, .uds_path = path };
	return 0;
}

static const char *const level_names[] = {
	"Error", "Warning", "Info", "Debug", "Trace", "Off", NULL
};
static const int level_values[] = {
	LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_DEBUG, LOG_ERROR
};

int api_res_logger(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "log_path", API_F_STRING, false }, { "level", API_F_STRING, false },
		{ "show_level", API_F_BOOL, false }, { "show_log_origin", API_F_BOOL, false },
		{ "module", API_F_STRING, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	struct api_logger *lg = &api->logger;
	int level = -1, fd = -1, r;
	char *path = NULL, *module = NULL;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (v[1].present) {
		for (int i = 0; level_names[i]; i++)
			if (!strcasecmp(v[1].s, level_names[i]))
				level = i;
		if (level < 0)
			return api_json_enum("level", v[1].s, level_names, err, err_len);
	}
	if (v[0].present && api->host_files) {
		fd = api_sink_open(v[0].s, "log", err, err_len);
		if (fd < 0)
			return fd;
	}
	if (dup_opt(v[0].s, &path) || dup_opt(v[4].s, &module)) {
		free(path);
		free(module);
		if (fd >= 0)
			close(fd);
		return no_memory(err, err_len);
	}
	if (lg->fd >= 0 && v[0].present) {
		close(lg->fd);
		lg->fd = -1;
	}
	if (v[0].present) {
		free(lg->log_path);
		lg->log_path = path;
		lg->fd = fd;
	}
	if (v[4].present) {
		free(lg->module);
		lg->module = module;
	}
	if (level >= 0) {
		lg->level = level_values[level];
		snprintf(lg->level_name, sizeof(lg->level_name), "%s", level_names[level]);
	}
	if (v[2].present)
		lg->show_level = v[2].b;
	if (v[3].present)
		lg->show_log_origin = v[3].b;
	lg->configured = true;
	if (api->apply_logger) {
		if (lg->fd >= 0)
			dup2(lg->fd, STDERR_FILENO);
		log_set_level((enum log_level)lg->level);
	}
	return 0;
}

int api_res_metrics(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = { { "metrics_path", API_F_STRING, true } };
	struct api_value v[ARRAY_SIZE(f)];
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (api->metrics.path) {
		snprintf(err, err_len, "Reinitialization of metrics not allowed.");
		return -EBUSY;
	}
	if (!api->host_files)
		return api_metrics_set_path(&api->metrics, v[0].s) ? no_memory(err, err_len) : 0;
	return api_metrics_open(&api->metrics, v[0].s, err, err_len);
}

/* --- GET bodies --- */

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

struct json_object *api_res_machine_config_json(const struct api *api)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "vcpu_count", json_object_new_int64(api->cfg.cpus));
	json_object_object_add(o, "mem_size_mib",
			       json_object_new_int64((int64_t)(api->cfg.mem_bytes >> 20)));
	json_object_object_add(o, "smt", json_object_new_boolean(api->smt));
	json_object_object_add(o, "track_dirty_pages",
			       json_object_new_boolean(api->track_dirty_pages));
	json_object_object_add(o, "huge_pages", json_object_new_string("None"));
	if (api->cpu_template_given)
		json_object_object_add(
			o, "cpu_template",
			json_object_new_string(cpu_template_name(api->cfg.cpu_template)));
	return o;
}

static struct json_object *bucket_json(const struct token_bucket_config *b)
{
	struct json_object *o;

	if (!token_bucket_config_active(b))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "size", json_object_new_uint64(b->size));
	json_object_object_add(o, "one_time_burst", json_object_new_uint64(b->one_time_burst));
	json_object_object_add(o, "refill_time", json_object_new_uint64(b->refill_time_ms));
	return o;
}

/* A rate limiter as Firecracker reports it: null when it limits nothing. */
static struct json_object *limit_json(const struct rate_limit_config *c)
{
	struct json_object *o;

	if (!rate_limit_config_active(c))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "bandwidth", bucket_json(&c->bandwidth));
	json_object_object_add(o, "ops", bucket_json(&c->ops));
	return o;
}

struct json_object *api_res_vm_config_json(const struct api *api)
{
	const struct vm_config *cfg = &api->cfg;
	struct json_object *o = json_object_new_object();
	struct json_object *drives, *nets;

	if (!o)
		return NULL;
	if (api->boot_source_set) {
		struct json_object *b = json_object_new_object();

		json_object_object_add(b, "kernel_image_path", str_or_null(cfg->kernel_path));
		json_object_object_add(b, "initrd_path", str_or_null(cfg->initrd_path));
		json_object_object_add(b, "boot_args", str_or_null(cfg->cmdline));
		json_object_object_add(o, "boot-source", b);
	}
	json_object_object_add(o, "machine-config", api_res_machine_config_json(api));
	drives = json_object_new_array();
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		struct json_object *d = json_object_new_object();

		json_object_object_add(d, "drive_id", json_object_new_string(cfg->disks[i].id));
		json_object_object_add(d, "path_on_host",
				       json_object_new_string(cfg->disks[i].path));
		json_object_object_add(d, "is_root_device",
				       json_object_new_boolean(cfg->disks[i].is_root));
		json_object_object_add(d, "is_read_only",
				       json_object_new_boolean(cfg->disks[i].read_only));
		/* flushes are always offered and honoured (api_res_drive_put) */
		json_object_object_add(d, "cache_type", json_object_new_string("Writeback"));
		json_object_object_add(d, "io_engine", json_object_new_string("Sync"));
		json_object_object_add(d, "rate_limiter", limit_json(&cfg->disks[i].limit));
		json_object_array_add(drives, d);
	}
	json_object_object_add(o, "drives", drives);
	nets = json_object_new_array();
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		const struct vm_net_config *n = &cfg->nets[i];
		struct json_object *j = json_object_new_object();
		char mac[18];

		json_object_object_add(j, "iface_id", json_object_new_string(n->id));
		json_object_object_add(j, "host_dev_name", json_object_new_string(n->tap));
		if (n->has_mac) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
				 n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
			json_object_object_add(j, "guest_mac", json_object_new_string(mac));
		}
		json_object_object_add(j, "rx_rate_limiter", limit_json(&n->rx_limit));
		json_object_object_add(j, "tx_rate_limiter", limit_json(&n->tx_limit));
		json_object_array_add(nets, j);
	}
	json_object_object_add(o, "network-interfaces", nets);
	json_object_object_add(o, "balloon", api_balloon_config_json(api));
	json_object_object_add(o, "mmds-config", api_mmds_config_json(api));
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++) {
		const struct virtio_class *cls = virtio_class_at(i);

		if (cls->api_name)
			json_object_object_add(o, cls->api_name,
					       cfg->classes[i] ? json_object_new_object() : NULL);
	}
	if (cfg->vsock.uds_path) {
		struct json_object *j = json_object_new_object();

		if (cfg->vsock.id)
			json_object_object_add(j, "vsock_id",
					       json_object_new_string(cfg->vsock.id));
		json_object_object_add(j, "guest_cid",
				       json_object_new_int64((int64_t)cfg->vsock.cid));
		json_object_object_add(j, "uds_path", json_object_new_string(cfg->vsock.uds_path));
		json_object_object_add(o, "vsock", j);
	}
	if (api->logger.configured) {
		struct json_object *l = json_object_new_object();

		json_object_object_add(l, "log_path", str_or_null(api->logger.log_path));
		json_object_object_add(l, "level", json_object_new_string(api->logger.level_name));
		json_object_object_add(l, "show_level",
				       json_object_new_boolean(api->logger.show_level));
		json_object_object_add(l, "show_log_origin",
				       json_object_new_boolean(api->logger.show_log_origin));
		json_object_object_add(l, "module", str_or_null(api->logger.module));
		json_object_object_add(o, "logger", l);
	} else {
		json_object_object_add(o, "logger", NULL);
	}
	if (api->metrics.path) {
		struct json_object *m = json_object_new_object();

		json_object_object_add(m, "metrics_path",
				       json_object_new_string(api->metrics.path));
		json_object_object_add(o, "metrics", m);
	} else {
		json_object_object_add(o, "metrics", NULL);
	}
	return o;
}
