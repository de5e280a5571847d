/*
 * jailer_cgroup.h — where the cgroup hierarchies are mounted (read from
 * /proc/mounts' text) and putting the jailed process into its cgroup:
 * <hierarchy>/<parent>/<id>, with the --cgroup values written, v1 or v2.
 */
#ifndef VMON_JAILER_CGROUP_H
#define VMON_JAILER_CGROUP_H

#include <stddef.h>

#include "jailer/jailer_args.h"
#include "jailer/jailer_undo.h"

/*
 * cgroup_mount_of - in @mounts (the text of /proc/mounts), the mount point of
 * the v1 hierarchy that holds @controller (@version 1), or of the unified
 * hierarchy (@version 2, @controller ignored). Octal escapes (\040) are
 * decoded. Returns 0 with the path in @out, -ENOENT when there is none,
 * -ENAMETOOLONG when it does not fit.
 */
int cgroup_mount_of(const char *mounts, int version, const char *controller, char *out,
		    size_t out_len);

/*
 * cgroup_setup - the --cgroup part of the jailer for @a: creates
 * <hierarchy>/<parent>/<id> for each hierarchy the values need (v1: one per
 * controller's mount, cpuset's cpus and mems inherited from the parent; v2:
 * the controllers enabled in each ancestor's cgroup.subtree_control), writes
 * each value, then moves the calling process into it (tasks / cgroup.procs).
 * With v2 and no --cgroup, the process joins <hierarchy>/<parent> if that
 * exists, as Firecracker's jailer does. @mounts is /proc/mounts' text.
 * Each directory it makes is noted in @undo (empty ones can be removed again
 * as long as no task joined them). Returns 0, or -errno with one line in @err
 * naming the file.
 */
int cgroup_setup(const struct jailer_args *a, const char *parent, const char *mounts,
		 struct jailer_undo *undo, char *err, size_t err_len);

#endif
