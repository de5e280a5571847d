/* api_migration.c — PUT /migration/send and GET /migration (see api_migration.h). */
#include "api/api_migration.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "api/api_resources.h"
#include "api/api_snapshot.h"
#include "util/compiler.h"
#include "vm/vm_migrate.h"

static const char *const on_timeout_names[] = { "cancel", "force", NULL };

int api_migration_send(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "destination", API_F_STRING, true },
		{ "max_downtime_ms", API_F_U64, false },
		{ "max_bandwidth_mib_s", API_F_U64, false },
		{ "timeout_s", API_F_U64, false },
		{ "on_timeout", API_F_STRING, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	struct vm_migrate_params p;
	char why[600] = "";
	int r, force = 0;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	memset(&p, 0, sizeof(p));
	if (strlen(v[0].s) >= sizeof(p.destination) ||
	    vm_migrate_addr_check(v[0].s, why, sizeof(why))) {
		snprintf(err, err_len, "Migration error: %s.",
			 why[0] ? why : "the destination address is too long");
		return -EINVAL;
	}
	snprintf(p.destination, sizeof(p.destination), "%s", v[0].s);
	for (unsigned i = 1; i <= 3; i++) {
		if (v[i].present && (v[i].u == 0 || v[i].u > 86400000u)) {
			snprintf(err, err_len, API_JSON_FAULT "%s: expected 1..86400000.",
				 f[i].name);
			return -EINVAL;
		}
	}
	p.max_downtime_ms = v[1].present ? (uint32_t)v[1].u : 0;
	p.max_bandwidth_mib_s = v[2].present ? (uint32_t)v[2].u : 0;
	p.timeout_s = v[3].present ? (uint32_t)v[3].u : 0;
	if (v[4].present &&
	    (force = api_json_enum("on_timeout", v[4].s, on_timeout_names, err, err_len)) < 0)
		return force;
	p.force_on_timeout = force == 1;
	if (api->state != API_RUNNING && api->state != API_PAUSED) {
		snprintf(err, err_len,
			 "Migration error: only a running or paused microVM can be migrated.");
		return -EINVAL;
	}
	if (!api->ops || !api->ops->migrate_send) {
		snprintf(err, err_len, API_NOT_SUPPORTED_FMT, "Live migration");
		return -EOPNOTSUPP;
	}
	r = api->ops->migrate_send(api->opaque, &p, why, sizeof(why));
	if (r)
		snprintf(err, err_len, "Migration error: %s.", why[0] ? why : strerror(-r));
	return r;
}

int api_migration_receive(struct api *api, struct json_object *obj, char *err, size_t err_len)
{
	static const struct api_field f[] = {
		{ "listen", API_F_STRING, true },
		{ "network_overrides", API_F_ANY, false },
	};
	struct api_value v[ARRAY_SIZE(f)];
	struct vm_net_override ov[VM_MAX_NETS];
	unsigned nr_ov = 0;
	char why[600] = "";
	int r;

	if ((r = api_json_fields(obj, f, ARRAY_SIZE(f), v, err, err_len)))
		return r;
	if (vm_migrate_addr_check(v[0].s, why, sizeof(why))) {
		snprintf(err, err_len, "Migration error: %s.", why);
		return -EINVAL;
	}
	if (v[1].present && (r = api_snapshot_parse_overrides(v[1].j, ov, &nr_ov, err, err_len)))
		return r;
	if (api->state != API_NOT_STARTED || api->incoming || api->boot_source_set ||
	    api->cfg.nr_disks || api->cfg.nr_nets) {
		snprintf(err, err_len,
			 "Migration error: a migration is received only by a vmon with nothing "
			 "configured or running.");
		return -EINVAL;
	}
	if (!api->ops || !api->ops->migrate_receive) {
		snprintf(err, err_len, API_NOT_SUPPORTED_FMT, "Live migration");
		return -EOPNOTSUPP;
	}
	r = api->ops->migrate_receive(api->opaque, v[0].s, ov, nr_ov, why, sizeof(why));
	if (r) {
		snprintf(err, err_len, "Migration error: %s.", why[0] ? why : strerror(-r));
		return r;
	}
	api->incoming = true;
	return 0;
}

void api_migration_arrived(struct api *api, struct vm_config *cfg, bool paused)
{
	vm_config_free(&api->cfg);
	api->cfg = *cfg;
	vm_config_init(cfg);
	api->incoming = false;
	api->state = paused ? API_PAUSED : API_RUNNING;
}

struct json_object *api_migration_status(struct api *api, char *err, size_t err_len)
{
	struct json_object *o;
	char *text =
		api->ops && api->ops->migration_json ? api->ops->migration_json(api->opaque) : NULL;

	if (!text) {
		snprintf(err, err_len, "No migration was started.");
		return NULL;
	}
	o = json_tokener_parse(text);
	free(text);
	if (!o)
		snprintf(err, err_len, "The migration status is not available.");
	return o;
}
