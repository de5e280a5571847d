/*
 * api_resources.h — Firecracker's configuration objects (boot-source,
 * machine-config, drives, network-interfaces, entropy, logger, metrics): each
 * function reads one JSON object strictly, validates all of it, and only then
 * applies it to struct api, so a refused object changes nothing. Shared by the
 * REST endpoints (api_request.c) and the config file (api_config_file.c).
 * They do not check the instance state: callers refuse post-boot changes.
 * Every function returns 0, or -errno with one fault sentence in @err.
 */
#ifndef VMON_API_API_RESOURCES_H
#define VMON_API_API_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>

struct api;
struct json_object;
struct virtio_class;

/* Fault of a request naming a resource vmon does not implement (yet). */
#define API_NOT_SUPPORTED_FMT "%s is not supported by vmon yet."
/* Fault of a request that needs a started microVM (Firecracker's words). */
#define API_FAULT_PRE_BOOT "The requested operation is not supported before starting the microVM."

/* api_res_check_id - Firecracker's rule for path ids: non-empty, [A-Za-z0-9_]. */
int api_res_check_id(const char *id, char *err, size_t err_len);

/* PUT /boot-source: kernel_image_path (required), initrd_path, boot_args. */
int api_res_boot_source(struct api *api, struct json_object *obj, char *err, size_t err_len);

/*
 * PUT (@patch false: vcpu_count and mem_size_mib required, the rest reset to
 * defaults) or PATCH (@patch true: any non-empty subset) /machine-config.
 */
int api_res_machine_config(struct api *api, struct json_object *obj, bool patch, char *err,
			   size_t err_len);

/*
 * PUT /drives/{id}: add or replace drive @path_id (NULL from the config file:
 * the body's drive_id is used). Keeps the root device first.
 */
int api_res_drive_put(struct api *api, const char *path_id, struct json_object *obj, char *err,
		      size_t err_len);

/* PATCH /drives/{id} before boot: change path_on_host of an existing drive. */
int api_res_drive_patch(struct api *api, const char *path_id, struct json_object *obj, char *err,
			size_t err_len);

/* PUT /network-interfaces/{id}: add or replace an interface (@path_id as for drives). */
/* PATCH /network-interfaces/{id}: its rx/tx rate limiters, before or after boot. */
int api_res_net_patch(struct api *api, const char *path_id, struct json_object *obj, char *err,
		      size_t err_len);
int api_res_net_put(struct api *api, const char *path_id, struct json_object *obj, char *err,
		    size_t err_len);

/*
 * api_res_class - PUT /API_NAME (and the config file's "API_NAME") of a class of
 * virtio/virtio_class.h, @cls: the body is an object with no field, or only a
 * "rate_limiter" that limits nothing for a class that takes one (Firecracker's
 * entropy device); the VM gets the device. Before the start.
 */
int api_res_class(struct api *api, const struct virtio_class *cls, struct json_object *obj,
		  char *err, size_t err_len);
/* api_res_vsock - PUT /vsock, Firecracker's {guest_cid, uds_path[, vsock_id]}; before the start. */
int api_res_vsock(struct api *api, struct json_object *obj, char *err, size_t err_len);

/* PUT /logger: log_path, level, show_level, show_log_origin, module. */
int api_res_logger(struct api *api, struct json_object *obj, char *err, size_t err_len);

/* PUT /metrics: metrics_path (required); only once. */
int api_res_metrics(struct api *api, struct json_object *obj, char *err, size_t err_len);

/* GET /machine-config body: a new json object (json_object_put it) or NULL. */
struct json_object *api_res_machine_config_json(const struct api *api);

/* GET /vm/config body: the whole configuration, loadable as a config file. */
struct json_object *api_res_vm_config_json(const struct api *api);

#endif
