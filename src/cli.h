/*
 * cli.h — the command line: `vmon run ...`, `vmon info`, `vmon migrate`, and the
 * Firecracker-style `vmon --api-sock PATH | --config-file FILE [--no-api]`.
 * Parsing only; nothing here touches KVM or files.
 */
#ifndef VMON_CLI_H
#define VMON_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "vm/vm_config.h"

enum cli_command {
	CLI_RUN,
	CLI_INFO,
	CLI_HELP,
	CLI_VERSION,
	CLI_API,
	CLI_SNAPSHOT_MERGE,
	CLI_MIGRATE
};

/* `vmon migrate --api-sock SOCK --to ADDR [...]`: PUT /migration/send's fields (0: not given) */
#define CLI_FIRECRACKER_SOCK "/run/firecracker.socket" /* Firecracker's default API socket */
/*
 * The Firecracker release whose API (paths, bodies, faults) vmon's follows: the
 * version the compatibility mode reports (--version, GET /version, GET /), for
 * clients that gate on it (Kata Containers needs >= 0.21.1). docs/api.md says
 * what of that release vmon does.
 */
#define CLI_FIRECRACKER_VERSION "1.16.0"

struct cli_migrate {
	char *to;
	unsigned max_downtime_ms, max_bandwidth_mib_s, timeout_s;
	const char *on_timeout; /* "cancel" or "force", or NULL */
};

struct cli {
	enum cli_command command;
	struct vm_config cfg;
	char *api_sock; /* --api-sock */
	unsigned api_sock_mode; /* --api-sock-mode: its permissions; 0: owner only (0600) */
	bool seccomp; /* per-thread syscall filters: on unless --no-seccomp */
	char *config_file; /* --config-file */
	char *metadata; /* --metadata FILE: MMDS's data store at start (JSON) */
	size_t mmds_size_limit; /* --mmds-size-limit BYTES; 0: the default */
	bool no_api; /* --no-api */
	char *restore; /* run --restore STATE: the VM of a snapshot */
	char *mem_file; /* --mem-file MEM: its memory file */
	char *mem_uffd; /* --mem-uffd SOCK: or a Uffd page-fault handler serving it */
	char *incoming; /* run --incoming ADDR: a live migration's destination */
	struct {
		char *id, *tap;
	} net_overrides[VM_MAX_NETS]; /* --net-override ID=TAP, with --restore or --incoming */
	unsigned nr_net_overrides;
	char *merge_base, *merge_diff; /* snapshot-merge BASE DIFF */
	struct cli_migrate mig; /* migrate (its --api-sock is @api_sock) */
	int verbose; /* -v, repeatable */
	char *id; /* --id: the instance id (GET / "id"), as a jailer passes it */
	/*
	 * Started under the name "firecracker": Firecracker's process conventions
	 * (docs/api.md, "Firecracker compatibility mode"): the API on
	 * CLI_FIRECRACKER_SOCK unless --api-sock or --no-api, its version line,
	 * vCPU threads named "fc_vcpu N".
	 */
	bool firecracker;
	struct cli_jailer_times {
		bool given;
		unsigned long long start_us, start_cpu_us, parent_cpu_us;
	} jailer; /* --start-time-us, --start-time-cpu-us, --parent-cpu-time-us */
};

/*
 * cli_parse - fill @cli from @argv. Returns 0, or -EINVAL with one line in
 * @err naming the bad argument. @cli must be freed with cli_free() either way.
 */
int cli_parse(int argc, char **argv, struct cli *cli, char *err, size_t err_len);
void cli_free(struct cli *cli);

/* cli_usage - print the --help text on @out. */
void cli_usage(FILE *out);

#endif
