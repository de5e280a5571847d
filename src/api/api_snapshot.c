/* api_snapshot.c — PUT /snapshot/create and PUT /snapshot/load (see api_snapshot.h). */
#include "api/api_snapshot.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "api/api_resources.h"
#include "util/compiler.h"
#include "vm/vm_snapshot.h"

#define SNAPSHOT_MAX_NET_OVERRIDES VM_MAX_NETS

static const char *const snapshot_type_names[] = { "Full", "Diff", NULL };
static const char *const backend_type_names[] = { "File", "Uffd", NULL };

int api_snapshot_create(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "snapshot_type", API_F_STRING, false },
		{ "snapshot_path", API_F_STRING, true },
		{ "mem_file_path", API_F_STRING, true },
		{ "version", API_F_STRING, false }, /* Firecracker's deprecated target version */
	};
	struct api_value v[ARRAY_SIZE(f)];
	char why[512] = "";
	int r, type = 0;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (v[0].present &&
	    (type = api_json_enum("snapshot_type", v[0].s, snapshot_type_names, err, err_len)) < 0)
		return type;
	if (api->state != API_PAUSED) {
		snprintf(err, err_len,
			 "Create snapshot error: the microVM must be paused to create a snapshot.");
		return -EINVAL;
	}
	if (!api->ops || !api->ops->snapshot_create) {
		snprintf(err, err_len, API_NOT_SUPPORTED_FMT, "Snapshots");
		return -EOPNOTSUPP;
	}
	r = api->ops->snapshot_create(api->opaque, type == 1 ? VM_SNAPSHOT_DIFF : VM_SNAPSHOT_FULL,
				      v[1].s, v[2].s, why, sizeof(why));
	if (r)
		snprintf(err, err_len, "Create snapshot error: %s.", why[0] ? why : strerror(-r));
	return r;
}

/* network_overrides: [{"iface_id": ..., "host_dev_name": ...}, ...] */
int api_snapshot_parse_overrides(struct json_object *arr, struct vm_net_override *out, unsigned *n,
				 char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "iface_id", API_F_STRING, true },
		{ "host_dev_name", API_F_STRING, true },
	};
	size_t len;

	if (!json_object_is_type(arr, json_type_array)) {
		snprintf(err, err_len, API_JSON_FAULT "network_overrides: expected an array.");
		return -EINVAL;
	}
	len = json_object_array_length(arr);
	if (len > SNAPSHOT_MAX_NET_OVERRIDES) {
		snprintf(err, err_len, API_JSON_FAULT "network_overrides: at most %d entries.",
			 SNAPSHOT_MAX_NET_OVERRIDES);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		struct api_value v[ARRAY_SIZE(f)];
		int r = api_json_fields(json_object_array_get_idx(arr, i), f, ARRAY_SIZE(f), v, err,
					err_len);

		if (r)
			return r;
		out[i] = (struct vm_net_override){ .id = v[0].s, .tap = v[1].s };
	}
	*n = (unsigned)len;
	return 0;
}

int api_snapshot_load(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "snapshot_path", API_F_STRING, true },
		{ "mem_backend", API_F_ANY, false },
		{ "mem_file_path", API_F_STRING, false }, /* deprecated, still sent by the Go SDK */
		{ "track_dirty_pages", API_F_BOOL, false },
		{ "enable_diff_snapshots", API_F_BOOL, false }, /* deprecated name of the above */
		{ "resume_vm", API_F_BOOL, false },
		{ "network_overrides", API_F_ANY, false },
		{ "clock_realtime", API_F_BOOL, false },
	};
	static const struct api_field bf[] = {
		{ "backend_path", API_F_STRING, true },
		{ "backend_type", API_F_STRING, true },
	};
	struct api_value v[ARRAY_SIZE(f)], b[ARRAY_SIZE(bf)];
	struct vm_net_override overrides[SNAPSHOT_MAX_NET_OVERRIDES];
	struct vm_restore_opts o = { 0 };
	struct vm_config restored;
	char why[512] = "";
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (v[1].present == v[2].present) {
		snprintf(err, err_len,
			 "Load snapshot error: give either mem_backend or mem_file_path, not %s.",
			 v[1].present ? "both" : "neither");
		return -EINVAL;
	}
	o.state_path = v[0].s;
	if (v[1].present) {
		if ((r = api_json_fields(v[1].j, bf, ARRAY_SIZE(bf), b, err, err_len)))
			return r;
		r = api_json_enum("backend_type", b[1].s, backend_type_names, err, err_len);
		if (r < 0)
			return r;
		if (r == 1) /* a page-fault handler listens at backend_path */
			o.uffd_path = b[0].s;
		else
			o.mem_path = b[0].s;
	} else {
		o.mem_path = v[2].s;
	}
	o.track_dirty = (v[3].present && v[3].b) || (v[4].present && v[4].b);
	o.resume = v[5].present && v[5].b;
	o.clock_realtime = v[7].present && v[7].b;
	if (v[6].present && (r = api_snapshot_parse_overrides(v[6].j, overrides,
							      &o.nr_net_overrides, err, err_len)))
		return r;
	o.net_overrides = overrides;
	if (api->state != API_NOT_STARTED) {
		snprintf(err, err_len, "Load snapshot error: a microVM is already running.");
		return -EBUSY;
	}
	if (api->boot_source_set || api->cfg.nr_disks || api->cfg.nr_nets) {
		snprintf(err, err_len,
			 "Load snapshot error: loading a snapshot is not allowed after configuring "
			 "boot-specific resources.");
		return -EINVAL;
	}
	if (!api->ops || !api->ops->snapshot_load) {
		snprintf(err, err_len, API_NOT_SUPPORTED_FMT, "Snapshots");
		return -EOPNOTSUPP;
	}
	r = api->ops->snapshot_load(api->opaque, &o, &restored, why, sizeof(why));
	if (r) {
		snprintf(err, err_len, "Load snapshot error: %s.", why[0] ? why : strerror(-r));
		return r;
	}
	vm_config_free(&api->cfg);
	api->cfg = restored;
	api->track_dirty_pages = o.track_dirty;
	api->state = o.resume ? API_RUNNING : API_PAUSED;
	return 0;
}
