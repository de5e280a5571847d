/*
 * jailer_args.h — vmon-jailer's command line, Firecracker jailer's flags:
 * parsed and checked here, before the jailer touches anything.
 *
 *   vmon-jailer --id ID --exec-file FILE --uid UID --gid GID
 *               [--chroot-base-dir DIR] [--netns PATH] [--daemonize] [--new-pid-ns]
 *               [--cgroup-version 1|2] [--cgroup FILE=VALUE]... [--parent-cgroup PATH]
 *               [--resource-limit fsize=N|no-file=N]... [-- ARGS FOR THE EXEC FILE]
 *
 * Parsing only; nothing here touches a file.
 */
#ifndef VMON_JAILER_ARGS_H
#define VMON_JAILER_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JAILER_MAX_ID 64 /* Firecracker's limit on --id */
#define JAILER_MAX_CGROUPS 32
#define JAILER_DEFAULT_BASE "/srv/jailer"
#define JAILER_DEFAULT_NOFILE 2048 /* Firecracker's no-file bound when none is given */

/* struct jailer_cgroup - one --cgroup FILE=VALUE; @controller is FILE up to its first '.' */
struct jailer_cgroup {
	char file[128];
	char controller[64];
	const char *value;
};

struct jailer_args {
	const char *id;
	const char *exec_file;
	const char *chroot_base; /* --chroot-base-dir, default /srv/jailer */
	const char *netns; /* --netns PATH, or NULL */
	const char *parent_cgroup; /* --parent-cgroup, or NULL: the exec file's name */
	uid_t uid;
	gid_t gid;
	int cgroup_version; /* 1 (the default, as Firecracker's) or 2 */
	struct jailer_cgroup cgroups[JAILER_MAX_CGROUPS];
	unsigned nr_cgroups;
	bool has_fsize;
	uint64_t fsize; /* --resource-limit fsize=N: RLIMIT_FSIZE */
	uint64_t nofile; /* --resource-limit no-file=N: RLIMIT_NOFILE (default 2048) */
	bool daemonize, new_pid_ns;
	char **extra; /* the arguments after "--", for the exec file */
	int nr_extra;
};

/*
 * jailer_parse - fill @a from argv (argv[0] is the program). Returns 0, or
 * -EINVAL with one line in @err naming the flag and what is wrong. @a points
 * into argv. Only syntax and ranges are checked: whether files exist is the
 * jailer's first step, not this.
 */
int jailer_parse(int argc, char **argv, struct jailer_args *a, char *err, size_t err_len);

/*
 * jailer_check_id - Firecracker's rule for an instance id: 1 to 64
 * characters, each alphanumeric or '-'. Returns 0 or -EINVAL with @err set.
 */
int jailer_check_id(const char *id, char *err, size_t err_len);

/*
 * jailer_check_relative - a path that stays below where it is joined: not
 * empty, not absolute, no "." or ".." component. Returns true when it is one.
 */
bool jailer_check_relative(const char *path);

/* jailer_usage - the usage text */
const char *jailer_usage(void);

#endif
