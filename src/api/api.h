/*
 * api.h — vmon's control plane state and its Firecracker-compatible request
 * handler. struct api owns the VM configuration under construction, the
 * instance state (Not started / Running / Paused), the logger and metrics
 * settings, and calls the VM through struct api_vm_ops. api_handle() is a pure
 * request -> response function (no sockets), so it is unit-tested and fuzzed
 * directly; api_server.c puts it behind HTTP on a Unix socket.
 *
 * Locking: struct api has no lock of its own. Every call on one struct api
 * (api_handle, api_instance_start, api_flush_metrics, ...) must be serialised
 * by the caller; api_server does it with its mutex.
 */
#ifndef VMON_API_API_H
#define VMON_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api_metrics.h"
#include "mmds/mmds.h"
#include "vm/vm_config.h"
#include "vm/vm_snapshot.h"

struct vm_migrate_params;

/*
 * struct api_vm_ops - how the API drives the VM; implemented by the VM layer.
 * All are called with the API serialised (api_server's mutex held), from the
 * HTTP server's thread or from whoever calls api_handle/api_instance_start.
 * @start:         build and run the VM from @cfg (already validated); return
 *                 quickly once vCPUs run. 0, or -errno with one line in @err.
 * @pause/@resume: stop / restart all vCPUs; the API calls each only on a real
 *                 transition (Running->Paused, Paused->Running). 0 or -errno.
 * @ctrl_alt_del:  ask the guest to reboot/shut down (i8042 reset key). 0 or -errno.
 * @stats_json:    a malloc'd JSON object text with the live per-vCPU per-exit
 *                 counters and device counters, or NULL when unavailable.
 * @snapshot_create: write the paused VM's state and memory files. 0 or -errno, @err.
 * @snapshot_load: build and start (paused unless @o->resume) the VM of a
 *                 snapshot; *@cfg receives its configuration (the caller owns
 *                 it). 0, or -errno with @err; the process is unchanged then.
 * @set_disk_limit / @set_net_limit: new rate limiters for the running VM's
 *                 disk or NIC @id (a PATCH). 0, or -errno with @err.
 * @balloon_set_target / @balloon_set_interval / @balloon_stats: the running
 *                 VM's balloon (PATCH /balloon, PATCH and GET /balloon/statistics).
 *                 0, or -errno with @err.
 * @set_disk_path: the running VM's disk @id now on the image @path (a PATCH
 *                 with path_on_host: the guest sees a media change). 0, or
 *                 -errno with @err (the disk unchanged).
 * @migrate_send:  start migrating the running VM (vm_migration_start); the
 *                 VM ends when it runs at the destination. 0 or -errno, @err.
 * @migration_json: the latest migration's progress as malloc'd JSON text, or
 *                 NULL when none was started.
 * @migrate_receive: listen on @listen for one incoming migration (its VM
 *                 arrives later: api_migration_arrived). 0 or -errno, @err.
 * Any member may be NULL: the request is then refused as unsupported.
 */
struct virtio_balloon_stats;
struct json_object;

struct api_vm_ops {
	int (*start)(void *opaque, const struct vm_config *cfg, char *err, size_t err_len);
	int (*pause)(void *opaque);
	int (*resume)(void *opaque);
	int (*ctrl_alt_del)(void *opaque);
	char *(*stats_json)(void *opaque);
	int (*snapshot_create)(void *opaque, enum vm_snapshot_type type, const char *state_path,
			       const char *mem_path, char *err, size_t err_len);
	int (*snapshot_load)(void *opaque, const struct vm_restore_opts *o, struct vm_config *cfg,
			     char *err, size_t err_len);
	int (*set_disk_limit)(void *opaque, const char *id, const struct rate_limit_config *c,
			      char *err, size_t err_len);
	int (*set_disk_path)(void *opaque, const char *id, const char *path, char *err,
			     size_t err_len);
	int (*balloon_set_target)(void *opaque, uint32_t mib, char *err, size_t err_len);
	int (*balloon_set_interval)(void *opaque, uint32_t seconds, char *err, size_t err_len);
	int (*balloon_stats)(void *opaque, struct virtio_balloon_stats *out, char *err,
			     size_t err_len);
	int (*set_net_limit)(void *opaque, const char *id, const struct rate_limit_config *rx,
			     const struct rate_limit_config *tx, char *err, size_t err_len);
	int (*migrate_send)(void *opaque, const struct vm_migrate_params *p, char *err,
			    size_t err_len);
	char *(*migration_json)(void *opaque);
	int (*migrate_receive)(void *opaque, const char *listen, const struct vm_net_override *ov,
			       unsigned nr_ov, char *err, size_t err_len);
};

enum api_instance_state { API_NOT_STARTED, API_RUNNING, API_PAUSED };

/* Firecracker's logger settings; only the level and the file take effect. */
struct api_logger {
	bool configured;
	char *log_path; /* NULL: stderr */
	int level; /* enum log_level; Trace maps to LOG_DEBUG, Off to LOG_ERROR */
	char level_name[8];
	bool show_level, show_log_origin; /* recorded; vmon's line format is fixed */
	char *module; /* recorded; no per-module filter */
	int fd; /* the opened log file, -1 when none */
};

struct api {
	struct vm_config cfg;
	bool boot_source_set;
	bool smt; /* recorded and reported; no effect on the VM */
	bool track_dirty_pages; /* dirty-page tracking for Diff snapshots */
	bool cpu_template_given; /* "cpu_template" was given (cfg.cpu_template, "None" too) */
	bool incoming; /* PUT /migration/receive: the microVM comes from a source */
	enum api_instance_state state;
	char id[65]; /* up to 64 characters, Firecracker's limit */
	/*
	 * GET /version's firecracker_version and GET /'s vmm_version: vmon's own
	 * version, or in the Firecracker compatibility mode the Firecracker release it
	 * follows (CLI_FIRECRACKER_VERSION)
	 */
	const char *version;

	struct mmds mmds; /* the metadata service's data store (api_mmds.h) */

	struct api_logger logger;
	struct api_metrics metrics;
	uint64_t requests, request_fails; /* counted by api_handle */
	/*
	 * Firecracker's api_server.process_startup_time_us and _cpu_us: from a
	 * jailer's --start-time-us (--start-time-cpu-us, plus --parent-cpu-time-us)
	 * to the API serving; 0 when vmon was not given them
	 */
	uint64_t startup_us, startup_cpu_us;

	/* false (tests, fuzzing): paths are recorded but never opened/checked. */
	bool host_files;
	/* true: PUT /logger redirects stderr to log_path and sets the log level. */
	bool apply_logger;

	const struct api_vm_ops *ops;
	void *opaque;
};

/* struct api_response - what api_handle answers. */
struct api_response {
	int status; /* 200, 204 or 400 */
	char *body; /* malloc'd JSON text; NULL for 204 No Content */
};

/*
 * api_init - a fresh API: default vm_config, "Not started", instance id
 * "anonymous-instance", host_files and apply_logger true, no metrics.
 * @ops/@opaque: the VM control (may be NULL: every VM action is refused).
 */
void api_init(struct api *api, const struct api_vm_ops *ops, void *opaque);

/* api_destroy - free everything api_init and requests allocated, close files. */
void api_destroy(struct api *api);

/*
 * api_handle - serve one request. @method "GET"/"PUT"/"PATCH"/...; @path the
 * URL path without query ("/drives/rootfs"); @body/@body_len the request body
 * (may be NULL/0; any bytes, untrusted). Fills @resp (free it with
 * api_response_free). A refused request (status 400) changes no state.
 */
void api_handle(struct api *api, const char *method, const char *path, const char *body,
		size_t body_len, struct api_response *resp);

/* api_response_free - free @resp's body and clear it. */
void api_response_free(struct api_response *resp);

/*
 * api_instance_start - what PUT /actions InstanceStart does: validate the
 * configuration and call ops->start. For --config-file runs. 0, or -errno with
 * a fault sentence in @err; the state is then unchanged.
 */
int api_instance_start(struct api *api, char *err, size_t err_len);

/*
 * api_flush_metrics - write one metrics JSON line (API counters plus
 * ops->stats_json) to the configured metrics file. 0, -ENOENT when no metrics
 * file is configured, or -errno from the write.
 */
int api_flush_metrics(struct api *api);

/* api_state_name - "Not started", "Running" or "Paused". */
const char *api_state_name(enum api_instance_state state);

#endif
