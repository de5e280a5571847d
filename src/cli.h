/*
 * cli.h — the command line: `vmon run ...`, `vmon info`, `vmon migrate`, and the
 * Firecracker-style `vmon --api-sock PATH | --config-file FILE [--no-api]`.
 * Parsing only; nothing here touches KVM or files.
 */
#ifndef VMON_CLI_H
#define VMON_CLI_H

#include <stdbool.h>
#include <stddef.h>

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
	bool no_api; /* --no-api */
	char *restore; /* run --restore STATE: the VM of a snapshot */
	char *mem_file; /* --mem-file MEM: its memory file */
	char *incoming; /* run --incoming ADDR: a live migration's destination */
	struct {
		char *id, *tap;
	} net_overrides[VM_MAX_NETS]; /* --net-override ID=TAP, with --restore or --incoming */
	unsigned nr_net_overrides;
	char *merge_base, *merge_diff; /* snapshot-merge BASE DIFF */
	struct cli_migrate mig; /* migrate (its --api-sock is @api_sock) */
	int verbose; /* -v, repeatable */
	char *id; /* --id: the instance id (GET / "id"), as a jailer passes it */
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

/* cli_usage - the --help text. */
const char *cli_usage(void);

#endif
