/* api_balloon.c — /balloon and /balloon/statistics (see api_balloon.h). */
#include "api/api_balloon.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "api/api_resources.h"
#include "util/compiler.h"
#include "virtio/virtio_balloon.h"

/* true, with the fault in @err, when no balloon was configured */
static bool no_balloon(const struct api *api, char *err, size_t err_len)
{
	if (!api->cfg.balloon.on)
		snprintf(err, err_len,
			 "No balloon device was configured (PUT /balloon before the start).");
	return !api->cfg.balloon.on;
}

/* A new value for the running balloon (after the start; before it only the configuration
 * changes): @op, or -EOPNOTSUPP naming @what when the VM has none. */
static int to_running(struct api *api, int (*op)(void *, uint32_t, char *, size_t),
		      const char *what, uint32_t value, char *err, size_t err_len)
{
	if (api->state == API_NOT_STARTED)
		return 0;
	if (!op) {
		snprintf(err, err_len, API_NOT_SUPPORTED_FMT, what);
		return -EOPNOTSUPP;
	}
	return op(api->opaque, value, err, err_len);
}

static int check_amount(const struct api *api, uint64_t mib, char *err, size_t err_len)
{
	if (mib > UINT32_MAX || mib << 20 > api->cfg.mem_bytes) {
		snprintf(err, err_len,
			 "The balloon cannot be larger than the guest's memory: %llu MiB asked, "
			 "%llu MiB of RAM.",
			 (unsigned long long)mib, (unsigned long long)(api->cfg.mem_bytes >> 20));
		return -EINVAL;
	}
	return 0;
}

int api_balloon_put(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "amount_mib", API_F_U64, true },
		{ "deflate_on_oom", API_F_BOOL, true },
		{ "stats_polling_interval_s", API_F_U64, false },
		{ "free_page_reporting", API_F_BOOL, false },
		{ "free_page_hinting", API_F_BOOL, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (v[4].present && v[4].b) {
		snprintf(err, err_len, API_NOT_SUPPORTED_FMT,
			 "Free page hinting (`free_page_hinting`; free_page_reporting is)");
		return -EOPNOTSUPP;
	}
	if (v[2].present && v[2].u > UINT32_MAX) {
		snprintf(err, err_len, "The statistics polling interval %llu s is too large.",
			 (unsigned long long)v[2].u);
		return -EINVAL;
	}
	if ((r = check_amount(api, v[0].u, err, err_len)))
		return r;
	api->cfg.balloon = (struct vm_balloon_config){
		.on = true,
		.amount_mib = (uint32_t)v[0].u,
		.deflate_on_oom = v[1].b,
		.stats_interval_s = v[2].present ? (uint32_t)v[2].u : 0,
		.free_page_reporting = v[3].present && v[3].b,
	};
	return 0;
}

int api_balloon_patch(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = { { "amount_mib", API_F_U64, true } };
	struct api_value v[ARRAY_SIZE(f)];
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (no_balloon(api, err, err_len))
		return -ENODEV;
	if ((r = check_amount(api, v[0].u, err, err_len)) ||
	    (r = to_running(api, api->ops ? api->ops->balloon_set_target : NULL,
			    "Changing the balloon's target", (uint32_t)v[0].u, err, err_len)))
		return r;
	api->cfg.balloon.amount_mib = (uint32_t)v[0].u;
	return 0;
}

int api_balloon_stats_patch(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = { { "stats_polling_interval_s", API_F_U64, true } };
	struct api_value v[ARRAY_SIZE(f)];
	const struct vm_balloon_config *b = &api->cfg.balloon;
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (no_balloon(api, err, err_len))
		return -ENODEV;
	/* Firecracker's rule: statistics are on or off from the start */
	if (!b->stats_interval_s || !v[0].u || v[0].u > UINT32_MAX) {
		snprintf(err, err_len,
			 "Statistics were %s at the start: the polling interval can change, "
			 "not turn them %s.",
			 b->stats_interval_s ? "enabled" : "not enabled",
			 b->stats_interval_s ? "off" : "on");
		return -EINVAL;
	}
	if ((r = to_running(api, api->ops ? api->ops->balloon_set_interval : NULL,
			    "Changing the balloon's statistics interval", (uint32_t)v[0].u, err,
			    err_len)))
		return r;
	api->cfg.balloon.stats_interval_s = (uint32_t)v[0].u;
	return 0;
}

struct json_object *api_balloon_config_json(const struct api *api)
{
	const struct vm_balloon_config *b = &api->cfg.balloon;
	struct json_object *o;

	if (!b->on)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "amount_mib", json_object_new_int64(b->amount_mib));
	json_object_object_add(o, "deflate_on_oom", json_object_new_boolean(b->deflate_on_oom));
	json_object_object_add(o, "stats_polling_interval_s",
			       json_object_new_int64(b->stats_interval_s));
	json_object_object_add(o, "free_page_reporting",
			       json_object_new_boolean(b->free_page_reporting));
	return o;
}

struct json_object *api_balloon_get(struct api *api, char *err, size_t err_len)
{
	return no_balloon(api, err, err_len) ? NULL : api_balloon_config_json(api);
}

struct json_object *api_balloon_stats_get(struct api *api, char *err, size_t err_len)
{
	/* Firecracker's names, in the order of the virtio tags */
	static const char *const names[VIRTIO_BALLOON_NR_STATS] = {
		"swap_in",	    "swap_out",	   "major_faults",
		"minor_faults",	    "free_memory", "total_memory",
		"available_memory", "disk_caches", "hugetlb_allocations",
		"hugetlb_failures",
	};
	struct virtio_balloon_stats st;
	struct json_object *o;

	if (no_balloon(api, err, err_len))
		return NULL;
	if (!api->cfg.balloon.stats_interval_s) {
		snprintf(err, err_len,
			 "Balloon statistics were not enabled at the start "
			 "(stats_polling_interval_s).");
		return NULL;
	}
	if (api->state == API_NOT_STARTED) {
		snprintf(err, err_len, API_FAULT_PRE_BOOT);
		return NULL;
	}
	if (!api->ops || !api->ops->balloon_stats) {
		snprintf(err, err_len, API_NOT_SUPPORTED_FMT, "Balloon statistics");
		return NULL;
	}
	if (api->ops->balloon_stats(api->opaque, &st, err, err_len))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "target_pages", json_object_new_int64(st.target_pages));
	json_object_object_add(o, "actual_pages", json_object_new_int64(st.actual_pages));
	json_object_object_add(
		o, "target_mib",
		json_object_new_int64(st.target_pages / VIRTIO_BALLOON_PAGES_PER_MIB));
	json_object_object_add(
		o, "actual_mib",
		json_object_new_int64(st.actual_pages / VIRTIO_BALLOON_PAGES_PER_MIB));
	for (unsigned i = 0; i < VIRTIO_BALLOON_NR_STATS; i++)
		if (st.valid & (1u << i))
			json_object_object_add(o, names[i],
					       json_object_new_int64((int64_t)st.value[i]));
	return o;
}
