/*
 * api_migration.h — vmon's live-migration endpoints (Firecracker has none):
 * PUT /migration/send on a running microVM, PUT /migration/receive on a vmon
 * with no microVM yet (or `vmon run --incoming ADDR`), GET /migration for the
 * progress on either side (docs/migration.md).
 */
#ifndef VMON_API_API_MIGRATION_H
#define VMON_API_API_MIGRATION_H

#include <stdbool.h>
#include <stddef.h>

struct api;
struct json_object;

/*
 * api_migration_send - PUT /migration/send {destination, max_downtime_ms,
 * max_bandwidth_mib_s, timeout_s, on_timeout "cancel"|"force"}. Only while
 * Running, one at a time. Answers once the destination accepted the machine;
 * the copy goes on behind (GET /migration). 0, or -errno with a fault
 * sentence in @err.
 */
int api_migration_send(struct api *api, struct json_object *obj, char *err, size_t err_len);

/*
 * api_migration_receive - PUT /migration/receive {listen, network_overrides}:
 * on a vmon with nothing configured yet, wait on @listen ("tcp:IP:PORT",
 * "unix:PATH") for one migration; until it arrives, configuration and
 * actions are refused. 0, or -errno with a fault sentence in @err.
 */
int api_migration_receive(struct api *api, struct json_object *obj, char *err, size_t err_len);

/* api_migration_arrived - its VM is here: the instance is Running (Paused when @paused, as at its
 * source), with configuration *@cfg (taken).
 */
struct vm_config;
void api_migration_arrived(struct api *api, struct vm_config *cfg, bool paused);

/* api_migration_status - GET /migration's object, or NULL (with @err) when none was started. */
struct json_object *api_migration_status(struct api *api, char *err, size_t err_len);

#endif
