/*
 * api_mmds.h — Firecracker's microVM metadata service, host side: the data
 * store (one JSON value, at most a size limit when serialised) that
 * PUT /mmds replaces, PATCH /mmds merges into (RFC 7396) and GET /mmds
 * returns; PUT /mmds/config (and the config file's "mmds-config"), which
 * names the NICs that may reach it, its IPv4 address, version and format;
 * and vmon's --metadata FILE, the store's contents at start.
 *
 * The store itself, and the answers to the guest's HTTP requests, are
 * mmds/mmds.h's; the VM's NICs carry those (vm_mmds.c).
 */
#ifndef VMON_API_API_MMDS_H
#define VMON_API_API_MMDS_H

#include <stddef.h>

struct api;
struct json_object;

/* api_mmds_put - PUT /mmds: @obj becomes the store (a copy). 0 or -errno with a fault in @err. */
int api_mmds_put(struct api *api, struct json_object *obj, char *err, size_t err_len);

/* api_mmds_patch - PATCH /mmds: @obj merged into the store (RFC 7396). 0 or -errno with @err. */
int api_mmds_patch(struct api *api, struct json_object *obj, char *err, size_t err_len);

/* api_mmds_get - GET /mmds: a new reference to a copy of the store; NULL when it is null (never
 * set) or memory ran out. */
struct json_object *api_mmds_get(const struct api *api);

/* api_mmds_config - PUT /mmds/config and the config file's "mmds-config". Before the start. */
int api_mmds_config(struct api *api, struct json_object *obj, char *err, size_t err_len);

/* api_mmds_config_json - "mmds-config" for GET /vm/config, or NULL when MMDS is not configured. */
struct json_object *api_mmds_config_json(const struct api *api);

/*
 * api_mmds_load_file - vmon's --metadata FILE: the JSON in @path becomes the
 * store. 0, or -errno with one line in @err (a file that cannot be read, is not
 * JSON or is over the limit).
 */
int api_mmds_load_file(struct api *api, const char *path, char *err, size_t err_len);

/* api_mmds_free - drop the store. */
void api_mmds_free(struct api *api);

#endif
