/*
 * api_config_file.h — Firecracker's --config-file: one JSON object whose
 * members "boot-source", "machine-config", "drives" (array),
 * "network-interfaces" (array),
 * "entropy", "balloon", "vsock", "mmds-config", "logger" and "metrics" carry
 * the same objects as the REST endpoints, read by the same strict parsers.
 * Sections of Firecracker vmon lacks (cpu-config, pmem, ...) are refused
 * unless null; unknown members are refused.
 */
#ifndef VMON_API_API_CONFIG_FILE_H
#define VMON_API_API_CONFIG_FILE_H

#include <stddef.h>

struct api;
struct vm_config;

/*
 * api_config_file_apply - read config file @path into @api (VM config,
 * logger, metrics), as if each object had been PUT before boot. Does not
 * start the VM (call api_instance_start). @api must be "Not started". On
 * error @api may hold part of the file: the caller is expected to give up.
 * Returns 0, or -errno with "PATH: reason" in @err.
 */
int api_config_file_apply(struct api *api, const char *path, char *err, size_t err_len);

/*
 * api_config_file_load - the VM configuration only: @cfg (initialised by the
 * caller; freed and replaced on success, untouched on error) from @path. The
 * logger and metrics sections are checked but not kept: use
 * api_config_file_apply when they matter. 0, or -errno with @err.
 */
int api_config_file_load(const char *path, struct vm_config *cfg, char *err, size_t err_len);

/*
 * api_config_file_read - the whole of regular file @path (opened without
 * blocking), at most API_BODY_MAX_BYTES, NUL-terminated, into *@text (free it)
 * and *@len. 0, or -errno with "PATH: reason" in @err.
 */
int api_config_file_read(const char *path, char **text, size_t *len, char *err, size_t err_len);

#endif
