/*
 * api_migration.h — vmon's live-migration endpoints (Firecracker has none):
 * PUT /migration/send on a running microVM, GET /migration for its progress.
 * The destination is a `vmon run --incoming ADDR` (docs/migration.md).
 */
#ifndef VMON_API_API_MIGRATION_H
#define VMON_API_API_MIGRATION_H

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

/* api_migration_status - GET /migration's object, or NULL (with @err) when none was started. */
struct json_object *api_migration_status(struct api *api, char *err, size_t err_len);

#endif
