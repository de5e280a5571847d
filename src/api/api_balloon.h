/*
 * api_balloon.h — Firecracker's balloon endpoints: PUT /balloon (before boot),
 * PATCH /balloon (the target, before or after boot), GET /balloon,
 * GET /balloon/statistics and PATCH /balloon/statistics (after boot, when
 * statistics were asked for at PUT), and the config file's "balloon" object.
 * Bodies and faults as Firecracker's; free_page_hinting is refused (vmon has
 * free page reporting, not hinting).
 */
#ifndef VMON_API_API_BALLOON_H
#define VMON_API_API_BALLOON_H

#include <json-c/json.h>
#include <stddef.h>

struct api;

int api_balloon_put(struct api *api, struct json_object *obj, char *err, size_t err_len);
int api_balloon_patch(struct api *api, struct json_object *obj, char *err, size_t err_len);
int api_balloon_stats_patch(struct api *api, struct json_object *obj, char *err, size_t err_len);

/* GET /balloon and GET /balloon/statistics: a new object, or NULL with the fault in @err. */
struct json_object *api_balloon_get(struct api *api, char *err, size_t err_len);
struct json_object *api_balloon_stats_get(struct api *api, char *err, size_t err_len);

/* The "balloon" member of GET /vm/config: an object, or NULL (JSON null) without a balloon. */
struct json_object *api_balloon_config_json(const struct api *api);

#endif
