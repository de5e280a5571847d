/*
 * api_snapshot.h — Firecracker's snapshot endpoints: PUT /snapshot/create on
 * a paused microVM, PUT /snapshot/load on a process with no microVM yet.
 */
#ifndef VMON_API_API_SNAPSHOT_H
#define VMON_API_API_SNAPSHOT_H

#include <stddef.h>

struct api;
struct json_object;

/*
 * api_snapshot_create - PUT /snapshot/create {snapshot_type, snapshot_path,
 * mem_file_path[, version]}. Only while Paused. 0, or -errno with a fault
 * sentence in @err.
 */
int api_snapshot_create(struct api *api, struct json_object *obj, char *err, size_t err_len);

/*
 * api_snapshot_load - PUT /snapshot/load {snapshot_path, mem_backend |
 * mem_file_path, track_dirty_pages | enable_diff_snapshots, resume_vm,
 * network_overrides, clock_realtime}. Only before any microVM exists and
 * before boot-source or machine-config was given. The state then becomes
 * Paused (Running with resume_vm). A refused or failed load leaves the
 * process as it was, ready for another request. 0, or -errno with @err.
 */
int api_snapshot_load(struct api *api, struct json_object *obj, char *err, size_t err_len);

/*
 * api_snapshot_parse_overrides - Firecracker's network_overrides array
 * [{iface_id, host_dev_name}] into @out (at most VM_MAX_NETS; the strings
 * point into @arr). 0 or -EINVAL with a fault sentence in @err.
 */
struct vm_net_override;
int api_snapshot_parse_overrides(struct json_object *arr, struct vm_net_override *out, unsigned *n,
				 char *err, size_t err_len);

#endif
