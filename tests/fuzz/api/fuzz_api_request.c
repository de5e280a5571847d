/*
 * fuzz_api_request.c — libFuzzer target over the control plane's request
 * parsing and dispatch. The input is up to 8 requests separated by NUL bytes,
 * each "METHOD PATH\nBODY". Oracles besides the sanitizers: every answer is
 * 200 with JSON, 204 without a body, or 400 with {"fault_message": ...}, and a
 * refused request leaves the configuration and the instance state unchanged.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static int f_start(void *o, const struct vm_config *cfg, char *err, size_t err_len)
{
	return cfg->cpus == 3 ? (snprintf(err, err_len, "three is odd"), -EINVAL) : 0;
}
static int f_pause(void *o)
{
	return 0;
}
static int f_resume(void *o)
{
	return 0;
}
static int f_cad(void *o)
{
	return 0;
}
static char *f_stats(void *o)
{
	return strdup("{\"vcpus\":[{\"io\":1}]}");
}

/* the live limiter changes: an ops bucket of size 3 is refused, to reach the refusal path */
static int f_disk_limit(void *o, const char *id, const struct rate_limit_config *c, char *err,
			size_t err_len)
{
	return c->ops.size == 3 ? (snprintf(err, err_len, "three is odd"), -EINVAL) : 0;
}
static int f_net_limit(void *o, const char *id, const struct rate_limit_config *rx,
		       const struct rate_limit_config *tx, char *err, size_t err_len)
{
	return f_disk_limit(o, id, tx, err, err_len) ? -EINVAL
						     : f_disk_limit(o, id, rx, err, err_len);
}

static const struct api_vm_ops ops = { .start = f_start,
				       .pause = f_pause,
				       .resume = f_resume,
				       .ctrl_alt_del = f_cad,
				       .stats_json = f_stats,
				       .set_disk_limit = f_disk_limit,
				       .set_net_limit = f_net_limit };

static char *snapshot(struct api *api)
{
	struct api_response r = { 0 };

	api_handle(api, "GET", "/vm/config", NULL, 0, &r);
	if (r.status != 200 || !r.body)
		__builtin_trap();
	return r.body;
}

static void one(struct api *api, const char *rec, size_t len)
{
	const char *nl = memchr(rec, '\n', len);
	size_t head = nl ? (size_t)(nl - rec) : len;
	char line[512], *sp;
	const char *method, *path, *body = nl ? nl + 1 : NULL;
	size_t body_len = nl ? len - head - 1 : 0;
	struct api_response r = { 0 };
	enum api_instance_state st = api->state;
	char *before, *after;

	if (head >= sizeof(line))
		return;
	memcpy(line, rec, head);
	line[head] = '\0';
	sp = strchr(line, ' ');
	if (!sp)
		return;
	*sp = '\0';
	method = line;
	path = sp + 1;

	before = snapshot(api);
	api_handle(api, method, path, body, body_len, &r);
	if (r.status == 204) {
		if (r.body)
			__builtin_trap();
	} else if (r.status == 200 || r.status == 400) {
		struct json_object *o = r.body ? json_tokener_parse(r.body) : NULL;

		/* json-c parses JSON's null to NULL: GET /mmds of a store never set answers it */
		if (!o && !(r.status == 200 && r.body && !strcmp(r.body, "null")))
			__builtin_trap();
		if (r.status == 400 && !json_object_object_get_ex(o, "fault_message", NULL))
			__builtin_trap();
		json_object_put(o);
	} else {
		__builtin_trap();
	}
	after = snapshot(api);
	if ((r.status == 400 || !strcmp(method, "GET")) &&
	    (strcmp(before, after) || st != api->state))
		__builtin_trap();
	free(before);
	free(after);
	api_response_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct api api;

	api_init(&api, &ops, NULL);
	api.host_files = false;
	api.apply_logger = false;
	for (int n = 0; n < 8 && p < end; n++) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		size_t len = z ? (size_t)(z - p) : (size_t)(end - p);

		one(&api, p, len);
		p += len + 1;
	}
	api_flush_metrics(&api);
	api_destroy(&api);
	return 0;
}
