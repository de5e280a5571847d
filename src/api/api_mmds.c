/* api_mmds.c — MMDS, host side: the data store and its configuration (see api_mmds.h). */
#include "api/api_mmds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_config_file.h"
#include "api/api_json.h"
#include "api/api_resources.h"
#include "mmds/mmds.h"
#include "util/compiler.h"

int api_mmds_put(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	const char *fault = "";
	int r = mmds_put(&api->mmds, obj, &fault);

	if (r)
		snprintf(err, err_len, "%s", fault);
	return r;
}

int api_mmds_patch(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	const char *fault = "";
	int r = mmds_patch(&api->mmds, obj, &fault);

	if (r)
		snprintf(err, err_len, "%s", fault);
	return r;
}

struct json_object *api_mmds_get(const struct api *api)
{
	return mmds_get(&api->mmds);
}

int api_mmds_config(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "version", API_F_STRING, false },
		{ "network_interfaces", API_F_ANY, true },
		{ "ipv4_address", API_F_STRING, false },
		{ "imds_compat", API_F_BOOL, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	struct vm_config *cfg = &api->cfg;
	bool named[VM_MAX_NETS] = { false };
	struct vm_mmds_config m = { .on = true, .version = 1, .ipv4 = VM_MMDS_DEFAULT_IPV4 };
	size_t n;
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (v[0].present) {
		if (strcmp(v[0].s, "V1") && strcmp(v[0].s, "V2")) {
			snprintf(err, err_len,
				 API_JSON_FAULT "unknown variant `%.32s`, expected `V1` or `V2`.",
				 v[0].s);
			return -EINVAL;
		}
		m.version = v[0].s[1] == '2' ? 2 : 1;
	}
	if (!json_object_is_type(v[1].j, json_type_array)) {
		snprintf(err, err_len,
			 API_JSON_FAULT "invalid type for `network_interfaces`, "
					"expected a sequence.");
		return -EINVAL;
	}
	n = json_object_array_length(v[1].j);
	if (!n) {
		snprintf(err, err_len,
			 "The list of network interface IDs that allow forwarding "
			 "MMDS requests is empty.");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *id = json_object_array_get_idx(v[1].j, i);
		unsigned k;

		if (!json_object_is_type(id, json_type_string)) {
			snprintf(err, err_len,
				 API_JSON_FAULT "invalid type for an element of "
						"`network_interfaces`, expected a string.");
			return -EINVAL;
		}
		for (k = 0; k < cfg->nr_nets; k++) {
			if (!strcmp(cfg->nets[k].id, json_object_get_string(id)))
				break;
		}
		if (k == cfg->nr_nets) {
			snprintf(err, err_len,
				 "The list of network interface IDs provided contains at least one "
				 "ID that does not correspond to any existing network interface.");
			return -EINVAL;
		}
		named[k] = true;
	}
	if (v[2].present) {
		struct in_addr a;

		if (inet_pton(AF_INET, v[2].s, &a) != 1) {
			snprintf(err, err_len,
				 API_JSON_FAULT "invalid IPv4 address syntax for `ipv4_address`.");
			return -EINVAL;
		}
		m.ipv4 = ntohl(a.s_addr);
		if (!vm_mmds_ipv4_valid(m.ipv4)) {
			snprintf(err, err_len, "The MMDS IPv4 address is not link local.");
			return -EINVAL;
		}
	}
	m.imds_compat = v[3].present && v[3].b;
	cfg->mmds = m;
	for (unsigned k = 0; k < cfg->nr_nets; k++)
		cfg->nets[k].mmds = named[k];
	return 0;
}

struct json_object *api_mmds_config_json(const struct api *api)
{
	const struct vm_config *cfg = &api->cfg;
	struct json_object *o, *ifs;
	struct in_addr a = { .s_addr = htonl(cfg->mmds.ipv4) };
	char ip[INET_ADDRSTRLEN] = "";

	if (!cfg->mmds.on)
		return NULL;
	o = json_object_new_object();
	ifs = json_object_new_array();
	if (!o || !ifs) {
		json_object_put(o);
		json_object_put(ifs);
		return NULL;
	}
	for (unsigned k = 0; k < cfg->nr_nets; k++) {
		if (cfg->nets[k].mmds)
			json_object_array_add(ifs, json_object_new_string(cfg->nets[k].id));
	}
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	json_object_object_add(o, "version",
			       json_object_new_string(cfg->mmds.version == 2 ? "V2" : "V1"));
	json_object_object_add(o, "network_interfaces", ifs);
	json_object_object_add(o, "ipv4_address", json_object_new_string(ip));
	json_object_object_add(o, "imds_compat", json_object_new_boolean(cfg->mmds.imds_compat));
	return o;
}

int api_mmds_load_file(struct api *api, const char *path, char *err, size_t err_len)
{
	struct json_object *o;
	char why[512] = "";
	char *text = NULL;
	size_t len = 0;
	int r;

	r = api_config_file_read(path, &text, &len, err, err_len);
	if (r)
		return r;
	o = api_json_parse(text, len, why, sizeof(why));
	free(text);
	if (!o) {
		snprintf(err, err_len, "%s: %s", path, *why ? why : "null is no metadata");
		return -EINVAL;
	}
	r = api_mmds_put(api, o, why, sizeof(why));
	json_object_put(o);
	if (r)
		snprintf(err, err_len, "%s: %s", path, why);
	return r;
}

void api_mmds_free(struct api *api)
{
	mmds_fini(&api->mmds);
}
