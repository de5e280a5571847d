/*
 * api_request.c — the Firecracker-compatible request handler: routes a method
 * and path to a resource, parses the body strictly, refuses what the instance
 * state forbids, and answers 200 with JSON, 204, or 400 with a fault message.
 */
#include "api/api.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api_balloon.h"
#include "api/api_json.h"
#include "api/api_resources.h"
#include "api/api_migration.h"
#include "api/api_mmds.h"
#include "api/api_snapshot.h"
#include "config.h"
#include "util/compiler.h"

#define FAULT_POST_BOOT "The requested operation is not supported after starting the microVM."
#define API_MAX_PATH_TOKENS 4

const char *api_state_name(enum api_instance_state state)
{
	switch (state) {
	case API_NOT_STARTED:
		return "Not started";
	case API_RUNNING:
		return "Running";
	case API_PAUSED:
		return "Paused";
	}
	return "Not started";
}

void api_init(struct api *api, const struct api_vm_ops *ops, void *opaque)
{
	memset(api, 0, sizeof(*api));
	vm_config_init(&api->cfg);
	api->state = API_NOT_STARTED;
	snprintf(api->id, sizeof(api->id), "anonymous-instance");
	api->version = VMON_VERSION;
	api->logger.fd = -1;
	api->logger.level = 1; /* LOG_WARN, vmon's default */
	snprintf(api->logger.level_name, sizeof(api->logger.level_name), "Warning");
	api_metrics_init(&api->metrics);
	mmds_init(&api->mmds);
	api->host_files = true;
	api->apply_logger = true;
	api->ops = ops;
	api->opaque = opaque;
}

void api_destroy(struct api *api)
{
	vm_config_free(&api->cfg);
	api_mmds_free(api);
	free(api->logger.log_path);
	free(api->logger.module);
	if (api->logger.fd >= 0)
		close(api->logger.fd);
	api_metrics_close(&api->metrics);
	memset(api, 0, sizeof(*api));
	api->logger.fd = -1;
	api->metrics.fd = -1;
}

void api_response_free(struct api_response *resp)
{
	free(resp->body);
	resp->body = NULL;
}

/* --- responses --- */

static void respond_json(struct api_response *resp, int status, struct json_object *o)
{
	const char *text;

	resp->status = status;
	resp->body = NULL;
	if (!o) {
		resp->status = 500;
		resp->body = strdup("{\"fault_message\":\"Out of memory.\"}");
		return;
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	resp->body = text ? strdup(text) : NULL;
	json_object_put(o);
	if (!resp->body)
		resp->status = 500;
}

static void respond_fault(struct api_response *resp, const char *msg)
{
	struct json_object *o = json_object_new_object();

	if (o)
		json_object_object_add(o, "fault_message", json_object_new_string(msg));
	respond_json(resp, 400, o);
}

/* --- actions and instance control --- */

int api_instance_start(struct api *api, char *err, size_t err_len)
{
	char why[256] = "";
	int r;

	if (api->state != API_NOT_STARTED) {
		snprintf(err, err_len, FAULT_POST_BOOT);
		return -EBUSY;
	}
	if (!api->ops || !api->ops->start) {
		snprintf(err, err_len, API_NOT_SUPPORTED_FMT, "Starting a microVM from the API");
		return -EOPNOTSUPP;
	}
	if (api->host_files && (r = vm_config_validate(&api->cfg, why, sizeof(why)))) {
		snprintf(err, err_len, "Invalid microVM configuration: %s.", why);
		return r;
	}
	api->cfg.track_dirty = api->track_dirty_pages;
	r = api->ops->start(api->opaque, &api->cfg, why, sizeof(why));
	if (r) {
		snprintf(err, err_len, "Failed to start the microVM: %s.",
			 why[0] ? why : strerror(r < 0 ? -r : r));
		return r < 0 ? r : -EIO;
	}
	api->state = API_RUNNING;
	return 0;
}

static struct json_object *stats_object(struct api *api)
{
	struct json_object *o;
	char *text;

	if (api->state == API_NOT_STARTED || !api->ops || !api->ops->stats_json)
		return NULL;
	text = api->ops->stats_json(api->opaque);
	if (!text)
		return NULL;
	o = json_tokener_parse(text);
	free(text);
	return o;
}

static struct json_object *seccomp_object(void)
{
	struct json_object *o = json_object_new_object();

	if (o)
		json_object_object_add(o, "num_faults", json_object_new_int64(0));
	return o;
}

int api_flush_metrics(struct api *api)
{
	struct json_object *o, *srv;
	struct timespec ts;
	const char *line;
	int r;

	if (!api->metrics.path)
		return -ENOENT;
	clock_gettime(CLOCK_REALTIME, &ts);
	o = json_object_new_object();
	srv = json_object_new_object();
	if (!o || !srv) {
		json_object_put(o);
		json_object_put(srv);
		return -ENOMEM;
	}
	json_object_object_add(
		o, "utc_timestamp_ms",
		json_object_new_int64((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	json_object_object_add(o, "state", json_object_new_string(api_state_name(api->state)));
	json_object_object_add(srv, "requests", json_object_new_int64((int64_t)api->requests));
	json_object_object_add(srv, "request_fails",
			       json_object_new_int64((int64_t)api->request_fails));
	json_object_object_add(srv, "metrics_lines_dropped",
			       json_object_new_int64((int64_t)api->metrics.lines_dropped));
	json_object_object_add(srv, "process_startup_time_us",
			       json_object_new_int64((int64_t)api->startup_us));
	json_object_object_add(srv, "process_startup_time_cpu_us",
			       json_object_new_int64((int64_t)api->startup_cpu_us));
	json_object_object_add(o, "api_server", srv);
	/* Firecracker's: a forbidden call writes its own line with num_faults 1 (seccomp.h) */
	json_object_object_add(o, "seccomp", seccomp_object());
	json_object_object_add(o, "vm", stats_object(api));
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = api->metrics.fd >= 0 ? api_metrics_write(&api->metrics, line) : 0;
	json_object_put(o);
	return r;
}

static const char *const action_names[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics",
					    NULL };

static int put_actions(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = { { "action_type", API_F_STRING, true } };
	struct api_value v[ARRAY_SIZE(f)];
	int r, which;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	which = api_json_enum("action_type", v[0].s, action_names, err, err_len);
	switch (which) {
	case 0:
		return api_instance_start(api, err, err_len);
	case 1:
		if (api->state == API_NOT_STARTED) {
			snprintf(err, err_len, API_FAULT_PRE_BOOT);
			return -EINVAL;
		}
		if (!api->ops || !api->ops->ctrl_alt_del) {
			snprintf(err, err_len, API_NOT_SUPPORTED_FMT, "SendCtrlAltDel");
			return -EOPNOTSUPP;
		}
		r = api->ops->ctrl_alt_del(api->opaque);
		if (r)
			snprintf(err, err_len, "Failed to send Ctrl+Alt+Del: %s.",
				 strerror(r < 0 ? -r : r));
		return r;
	case 2:
		r = api_flush_metrics(api);
		if (r == -ENOENT)
			snprintf(err, err_len, "The metrics system is not initialized.");
		else if (r)
			snprintf(err, err_len, "Failed to write the metrics: %s.", strerror(-r));
		return r;
	default:
		return which;
	}
}

static const char *const vm_state_names[] = { "Paused", "Resumed", NULL };

static int patch_vm(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = { { "state", API_F_STRING, true } };
	struct api_value v[ARRAY_SIZE(f)];
	int r, which;
	bool pause;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	which = api_json_enum("state", v[0].s, vm_state_names, err, err_len);
	if (which < 0)
		return which;
	if (api->state == API_NOT_STARTED) {
		snprintf(err, err_len, API_FAULT_PRE_BOOT);
		return -EINVAL;
	}
	pause = which == 0;
	if (pause == (api->state == API_PAUSED))
		return 0; /* already there: idempotent */
	if (!api->ops || !(pause ? api->ops->pause : api->ops->resume)) {
		snprintf(err, err_len, API_NOT_SUPPORTED_FMT, pause ? "Pausing" : "Resuming");
		return -EOPNOTSUPP;
	}
	r = pause ? api->ops->pause(api->opaque) : api->ops->resume(api->opaque);
	if (r) {
		snprintf(err, err_len, "Failed to %s the microVM: %s.", pause ? "pause" : "resume",
			 strerror(r < 0 ? -r : r));
		return r;
	}
	api->state = pause ? API_PAUSED : API_RUNNING;
	return 0;
}

/* --- routing --- */

enum route_kind {
	R_NONE,
	R_INFO,
	R_VERSION,
	R_MACHINE_GET,
	R_VM_CONFIG,
	R_VM_STATS,
	R_MIGRATION_GET,
	R_MIGRATION_SEND,
	R_MIGRATION_RECEIVE,
	R_ACTIONS,
	R_BOOT_SOURCE,
	R_MACHINE_PUT,
	R_MACHINE_PATCH,
	R_DRIVE_PUT,
	R_DRIVE_PATCH,
	R_NET_PATCH,
	R_NET_PUT,
	R_CLASS, /* PUT of a class-table device's resource (virtio/virtio_class.h) */
	R_VSOCK,
	R_LOGGER,
	R_METRICS,
	R_VM_PATCH,
	R_SNAPSHOT_CREATE,
	R_SNAPSHOT_LOAD,
	R_BALLOON_GET,
	R_BALLOON_PUT,
	R_BALLOON_PATCH,
	R_BALLOON_STATS_GET,
	R_BALLOON_STATS_PATCH,
	R_MMDS_GET,
	R_MMDS_PUT,
	R_MMDS_PATCH,
	R_MMDS_CONFIG,
	R_UNSUPPORTED,
};

/* Firecracker endpoints vmon does not implement: (first path token, what to call it). */
static const struct {
	const char *token;
	const char *what;
} unsupported[] = {
	{ "cpu-config", "Custom CPU templates (/cpu-config)" },
	{ "pmem", "The virtio-pmem device (/pmem)" },
	{ "serial", "Serial console configuration (/serial)" },
	{ "hotplug", "Memory hot-plugging (/hotplug)" },
	{ "memory", "Guest memory mappings (/memory)" },
};

struct route {
	enum route_kind kind;
	bool needs_body;
	bool pre_boot_only;
	const char *id; /* the {id} path token */
	const char *what; /* R_UNSUPPORTED: what is missing */
	const struct virtio_class *cls; /* R_CLASS */
};

static void route(const char *method, char **tok, int ntok, struct route *rt)
{
	const char *t0 = ntok > 0 ? tok[0] : "";
	const char *t1 = ntok > 1 ? tok[1] : NULL;
	bool get = !strcmp(method, "GET"), put = !strcmp(method, "PUT");
	bool patch = !strcmp(method, "PATCH");

	memset(rt, 0, sizeof(*rt));
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
		if (!strcmp(t0, unsupported[i].token) && (get || put || patch)) {
			rt->kind = R_UNSUPPORTED;
			rt->what = unsupported[i].what;
			return;
		}
	}
	if (ntok > 2)
		return;
	rt->needs_body = put || patch;
	if (get) {
		if (ntok == 0)
			rt->kind = R_INFO;
		else if (!strcmp(t0, "version") && ntok == 1)
			rt->kind = R_VERSION;
		else if (!strcmp(t0, "machine-config") && ntok == 1)
			rt->kind = R_MACHINE_GET;
		else if (!strcmp(t0, "vm") && t1 && !strcmp(t1, "config"))
			rt->kind = R_VM_CONFIG;
		else if (!strcmp(t0, "vm") && t1 && !strcmp(t1, "stats"))
			rt->kind = R_VM_STATS;
		else if (!strcmp(t0, "migration") && ntok == 1)
			rt->kind = R_MIGRATION_GET;
		else if (!strcmp(t0, "mmds") && ntok == 1)
			rt->kind = R_MMDS_GET;
		else if (!strcmp(t0, "balloon"))
			rt->kind = ntok == 1		       ? R_BALLOON_GET
				   : !strcmp(t1, "statistics") ? R_BALLOON_STATS_GET
							       : R_NONE;
		return;
	}
	if (put) {
		static const struct {
			const char *token;
			enum route_kind kind;
			bool pre_boot;
		} puts_[] = {
			{ "actions", R_ACTIONS, false },
			{ "boot-source", R_BOOT_SOURCE, true },
			{ "machine-config", R_MACHINE_PUT, true },
			{ "logger", R_LOGGER, true },
			{ "metrics", R_METRICS, true },
			{ "balloon", R_BALLOON_PUT, true },
			{ "vsock", R_VSOCK, true },
		};
		for (size_t i = 0; i < ARRAY_SIZE(puts_); i++) {
			if (!strcmp(t0, puts_[i].token) && ntok == 1) {
				rt->kind = puts_[i].kind;
				rt->pre_boot_only = puts_[i].pre_boot;
			}
		}
		if (ntok == 1 && (rt->cls = virtio_class_find_api(t0))) {
			rt->kind = R_CLASS;
			rt->pre_boot_only = true;
		}
		if (!strcmp(t0, "mmds"))
			rt->kind = ntok == 1				? R_MMDS_PUT
				   : ntok == 2 && !strcmp(t1, "config") ? R_MMDS_CONFIG
									: R_NONE;
		rt->pre_boot_only |= rt->kind == R_MMDS_CONFIG;
		if (!strcmp(t0, "snapshot") && ntok == 2 && !strcmp(t1, "create"))
			rt->kind = R_SNAPSHOT_CREATE;
		if (!strcmp(t0, "snapshot") && ntok == 2 && !strcmp(t1, "load"))
			rt->kind = R_SNAPSHOT_LOAD;
		if (!strcmp(t0, "migration") && ntok == 2 && !strcmp(t1, "send"))
			rt->kind = R_MIGRATION_SEND;
		if (!strcmp(t0, "migration") && ntok == 2 && !strcmp(t1, "receive"))
			rt->kind = R_MIGRATION_RECEIVE;
		if (!strcmp(t0, "drives") || !strcmp(t0, "network-interfaces")) {
			rt->kind = t0[0] == 'd' ? R_DRIVE_PUT : R_NET_PUT;
			rt->pre_boot_only = true;
			rt->id = t1 ? t1 : "";
		}
		return;
	}
	if (patch) {
		if (!strcmp(t0, "machine-config") && ntok == 1) {
			rt->kind = R_MACHINE_PATCH;
			rt->pre_boot_only = true;
		} else if (!strcmp(t0, "vm") && ntok == 1) {
			rt->kind = R_VM_PATCH;
		} else if (!strcmp(t0, "mmds") && ntok == 1) {
			rt->kind = R_MMDS_PATCH;
		} else if (!strcmp(t0, "drives")) {
			rt->kind = R_DRIVE_PATCH;
			rt->id = t1 ? t1 : "";
		} else if (!strcmp(t0, "network-interfaces")) {
			rt->kind = R_NET_PATCH;
			rt->id = t1 ? t1 : "";
		} else if (!strcmp(t0, "balloon")) {
			rt->kind = ntok == 1		       ? R_BALLOON_PATCH
				   : !strcmp(t1, "statistics") ? R_BALLOON_STATS_PATCH
							       : R_NONE;
		}
	}
}

/* split - "/a/b/" into {"a", "b"} inside @buf; -1 when too long or too many tokens. */
static int split(const char *path, char *buf, size_t buf_len, char **tok)
{
	int n = 0;
	char *p;

	if (strlen(path) >= buf_len)
		return -1;
	strcpy(buf, path);
	p = buf;
	while (*p == '/')
		p++;
	while (*p) {
		char *slash = strchr(p, '/');

		if (n == API_MAX_PATH_TOKENS)
			return -1;
		tok[n++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
		if (!*p)
			break; /* one trailing '/' is allowed */
	}
	return n;
}

static void serve(struct api *api, const char *method, const char *path, const char *body,
		  size_t body_len, struct api_response *resp)
{
	char err[768], buf[256];
	char *tok[API_MAX_PATH_TOKENS];
	struct json_object *obj = NULL, *out;
	struct route rt;
	int ntok, r = 0;

	if (body_len > API_BODY_MAX_BYTES) {
		snprintf(err, sizeof(err),
			 "The request body of %zu bytes exceeds the limit of %u bytes.", body_len,
			 API_BODY_MAX_BYTES);
		respond_fault(resp, err);
		return;
	}
	ntok = path[0] == '/' ? split(path, buf, sizeof(buf), tok) : -1;
	if (ntok < 0)
		rt.kind = R_NONE;
	else
		route(method, tok, ntok, &rt);
	if (rt.kind == R_NONE) {
		snprintf(err, sizeof(err), "Invalid request method and/or path: %.16s %.200s.",
			 method, path);
		respond_fault(resp, err);
		return;
	}
	if (rt.kind == R_UNSUPPORTED) {
		snprintf(err, sizeof(err), API_NOT_SUPPORTED_FMT, rt.what);
		respond_fault(resp, err);
		return;
	}
	if (!rt.needs_body && body_len) {
		respond_fault(resp, "GET request cannot have a body.");
		return;
	}
	if (rt.needs_body && !body_len) {
		respond_fault(resp, !strcmp(method, "PUT") ? "Empty PUT request."
							   : "Empty PATCH request.");
		return;
	}
	if (rt.id && api_res_check_id(rt.id, err, sizeof(err))) {
		respond_fault(resp, err);
		return;
	}
	if (rt.needs_body) {
		obj = api_json_parse(body, body_len, err, sizeof(err));
		if (!obj) {
			respond_fault(resp, err);
			return;
		}
	}
	if (api->incoming && api->state == API_NOT_STARTED &&
	    (rt.pre_boot_only || rt.kind == R_ACTIONS || rt.kind == R_SNAPSHOT_LOAD ||
	     rt.kind == R_MIGRATION_RECEIVE)) {
		json_object_put(obj);
		respond_fault(resp, "A migration is awaited: the microVM comes from its source.");
		return;
	}
	if (rt.pre_boot_only && api->state != API_NOT_STARTED) {
		json_object_put(obj);
		respond_fault(resp, FAULT_POST_BOOT);
		return;
	}
	switch (rt.kind) {
	case R_INFO:
		out = json_object_new_object();
		json_object_object_add(out, "id", json_object_new_string(api->id));
		json_object_object_add(out, "state",
				       json_object_new_string(api_state_name(api->state)));
		json_object_object_add(out, "vmm_version", json_object_new_string(api->version));
		json_object_object_add(out, "app_name", json_object_new_string("vmon"));
		respond_json(resp, 200, out);
		return;
	case R_VERSION:
		out = json_object_new_object();
		json_object_object_add(out, "firecracker_version",
				       json_object_new_string(api->version));
		respond_json(resp, 200, out);
		return;
	case R_MACHINE_GET:
		respond_json(resp, 200, api_res_machine_config_json(api));
		return;
	case R_VM_CONFIG:
		respond_json(resp, 200, api_res_vm_config_json(api));
		return;
	case R_VM_STATS:
		if (api->state == API_NOT_STARTED) {
			respond_fault(resp, API_FAULT_PRE_BOOT);
			return;
		}
		out = stats_object(api);
		if (!out) {
			respond_fault(resp, "The microVM statistics are not available.");
			return;
		}
		respond_json(resp, 200, out);
		return;
	case R_MIGRATION_GET:
	case R_BALLOON_GET:
	case R_BALLOON_STATS_GET:
		out = rt.kind == R_MIGRATION_GET ? api_migration_status(api, err, sizeof(err))
		      : rt.kind == R_BALLOON_GET ? api_balloon_get(api, err, sizeof(err))
						 : api_balloon_stats_get(api, err, sizeof(err));
		if (!out) {
			respond_fault(resp, err);
			return;
		}
		respond_json(resp, 200, out);
		return;
	case R_MMDS_GET:
		if (!api->mmds.data) { /* never set, or set to null: json-c's null is no object */
			resp->status = 200;
			resp->body = strdup("null");
			if (!resp->body)
				resp->status = 500;
			return;
		}
		respond_json(resp, 200, api_mmds_get(api));
		return;
	case R_MMDS_PUT:
		r = api_mmds_put(api, obj, err, sizeof(err));
		break;
	case R_MMDS_PATCH:
		r = api_mmds_patch(api, obj, err, sizeof(err));
		break;
	case R_MMDS_CONFIG:
		r = api_mmds_config(api, obj, err, sizeof(err));
		break;
	case R_BALLOON_PUT:
		r = api_balloon_put(api, obj, err, sizeof(err));
		break;
	case R_BALLOON_PATCH:
		r = api_balloon_patch(api, obj, err, sizeof(err));
		break;
	case R_BALLOON_STATS_PATCH:
		r = api_balloon_stats_patch(api, obj, err, sizeof(err));
		break;
	case R_ACTIONS:
		r = put_actions(api, obj, err, sizeof(err));
		break;
	case R_BOOT_SOURCE:
		r = api_res_boot_source(api, obj, err, sizeof(err));
		break;
	case R_MACHINE_PUT:
		r = api_res_machine_config(api, obj, false, err, sizeof(err));
		break;
	case R_MACHINE_PATCH:
		r = api_res_machine_config(api, obj, true, err, sizeof(err));
		break;
	case R_DRIVE_PUT:
		r = api_res_drive_put(api, rt.id, obj, err, sizeof(err));
		break;
	case R_DRIVE_PATCH:
		r = api_res_drive_patch(api, rt.id, obj, err, sizeof(err));
		break;
	case R_NET_PATCH:
		r = api_res_net_patch(api, rt.id, obj, err, sizeof(err));
		break;
	case R_NET_PUT:
		r = api_res_net_put(api, rt.id, obj, err, sizeof(err));
		break;
	case R_CLASS:
		r = api_res_class(api, rt.cls, obj, err, sizeof(err));
		break;
	case R_VSOCK:
		r = api_res_vsock(api, obj, err, sizeof(err));
		break;
	case R_LOGGER:
		r = api_res_logger(api, obj, err, sizeof(err));
		break;
	case R_METRICS:
		r = api_res_metrics(api, obj, err, sizeof(err));
		break;
	case R_VM_PATCH:
		r = patch_vm(api, obj, err, sizeof(err));
		break;
	case R_SNAPSHOT_CREATE:
		r = api_snapshot_create(api, obj, err, sizeof(err));
		break;
	case R_SNAPSHOT_LOAD:
		r = api_snapshot_load(api, obj, err, sizeof(err));
		break;
	case R_MIGRATION_SEND:
		r = api_migration_send(api, obj, err, sizeof(err));
		break;
	case R_MIGRATION_RECEIVE:
		r = api_migration_receive(api, obj, err, sizeof(err));
		break;
	case R_NONE:
	case R_UNSUPPORTED:
		break;
	}
	json_object_put(obj);
	if (r) {
		respond_fault(resp, err);
		return;
	}
	resp->status = 204;
	resp->body = NULL;
}

void api_handle(struct api *api, const char *method, const char *path, const char *body,
		size_t body_len, struct api_response *resp)
{
	api->requests++;
	serve(api, method ? method : "", path ? path : "", body, body_len, resp);
	if (resp->status >= 400)
		api->request_fails++;
}
