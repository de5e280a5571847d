/* jailer_cgroup.c — the jailed process's cgroup (see jailer_cgroup.h). */
#include "jailer/jailer_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* copy one whitespace-separated field of /proc/mounts, decoding \ooo escapes */
static const char *mount_field(const char *p, char *out, size_t out_len, bool *fits)
{
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
		char c = *p++;

		if (c == '\\' && p[0] >= '0' && p[0] <= '3' && p[1] >= '0' && p[1] <= '7' &&
		    p[2] >= '0' && p[2] <= '7') {
			c = (char)((p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0'));
			p += 3;
		}
		if (n + 1 < out_len)
			out[n++] = c;
		else
			*fits = false;
	}
	out[n] = 0;
	return p;
}

static bool has_option(const char *opts, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = opts; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && !strncmp(p, name, n))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

int cgroup_mount_of(const char *mounts, int version, const char *controller, char *out,
		    size_t out_len)
{
	for (const char *line = mounts; *line;) {
		char dev[64], dir[PATH_MAX], type[32], opts[512];
		bool fits = true;
		const char *p = line;

		p = mount_field(p, dev, sizeof(dev), &fits);
		p = mount_field(p, dir, sizeof(dir), &fits);
		p = mount_field(p, type, sizeof(type), &fits);
		mount_field(p, opts, sizeof(opts), &fits);
		line = strchr(line, '\n');
		line = line ? line + 1 : "";
		if (version == 2 ? strcmp(type, "cgroup2")
				 : strcmp(type, "cgroup") || !has_option(opts, controller))
			continue;
		if (!fits || strlen(dir) >= out_len)
			return -ENAMETOOLONG;
		strcpy(out, dir);
		return 0;
	}
	return -ENOENT;
}

/* @a/@b into @out; -ENAMETOOLONG (with @err set) when it does not fit */
static int pjoin(char *out, size_t len, const char *a, const char *b, char *err, size_t err_len)
{
	int n = snprintf(out, len, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= len) {
		snprintf(err, err_len, "cgroup: the path %s/%s is too long", a, b);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int write_file(const char *path, const char *value, char *err, size_t err_len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len = strlen(value);
	int ret = 0;

	if (fd < 0 || write(fd, value, len) != (ssize_t)len)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		snprintf(err, err_len, "cgroup: writing '%s' to %s: %s", value, path,
			 strerror(-ret));
	return ret;
}

/* the first line of @path, without its newline ("" when empty) */
static int read_line(const char *path, char *out, size_t out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, out, out_len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

/*
 * make <mnt>/<rel> one component at a time; @each (when set) runs on every
 * directory below <mnt>, new or not, from the top down
 */
static int make_dirs(const char *mnt, const char *rel, char *path, size_t path_len,
		     int (*each)(const char *dir, void *ctx), void *ctx, struct jailer_undo *undo,
		     char *err, size_t err_len)
{
	size_t at;
	int ret;

	if ((size_t)snprintf(path, path_len, "%s/%s", mnt, rel) >= path_len) {
		snprintf(err, err_len, "cgroup: the path %s/%s is too long", mnt, rel);
		return -ENAMETOOLONG;
	}
	at = strlen(mnt) + 1;
	for (;;) {
		char keep;
		size_t n = strcspn(path + at, "/");

		at += n;
		keep = path[at];
		path[at] = 0;
		if (mkdir(path, 0755) == 0) {
			undo_add(undo, path, true);
		} else if (errno != EEXIST) {
			ret = -errno;
			snprintf(err, err_len, "cgroup: creating %s: %s", path, strerror(errno));
			return ret;
		}
		if (each && (ret = each(path, ctx))) {
			path[at] = keep;
			return ret;
		}
		path[at] = keep;
		if (!keep)
			return 0;
		at++;
	}
}

struct inherit_ctx {
	char *err;
	size_t err_len;
};

/* a new v1 cpuset has no cpus or mems, and no task may join it: take its parent's */
static int cpuset_inherit(const char *dir, void *opaque)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	struct inherit_ctx *c = opaque;

	for (unsigned i = 0; i < 2; i++) {
		char path[PATH_MAX], parent[PATH_MAX], val[4096];
		const char *slash = strrchr(dir, '/');
		int ret;

		if ((ret = pjoin(path, sizeof(path), dir, files[i], c->err, c->err_len)))
			return ret;
		if (read_line(path, val, sizeof(val)) == 0 && val[0])
			continue;
		snprintf(parent, sizeof(parent), "%.*s/%s", (int)(slash - dir), dir, files[i]);
		if ((ret = read_line(parent, val, sizeof(val)))) {
			snprintf(c->err, c->err_len, "cgroup: reading %s: %s", parent,
				 strerror(-ret));
			return ret;
		}
		if ((ret = write_file(path, val, c->err, c->err_len)))
			return ret;
	}
	return 0;
}

struct enable_ctx {
	const struct jailer_args *a;
	char *err;
	size_t err_len;
};

/* v2: the controllers the values need, enabled for the children of @dir's parent */
static int v2_enable(const char *dir, void *opaque)
{
	struct enable_ctx *c = opaque;
	const char *slash = strrchr(dir, '/');
	char path[PATH_MAX], want[80];

	snprintf(path, sizeof(path), "%.*s/cgroup.subtree_control", (int)(slash - dir), dir);
	for (unsigned i = 0; i < c->a->nr_cgroups; i++) {
		int ret;

		snprintf(want, sizeof(want), "+%s", c->a->cgroups[i].controller);
		if ((ret = write_file(path, want, c->err, c->err_len)))
			return ret;
	}
	return 0;
}

static int join(const char *dir, const char *file, char *err, size_t err_len)
{
	char path[PATH_MAX], pid[24];
	int ret;

	if ((ret = pjoin(path, sizeof(path), dir, file, err, err_len)))
		return ret;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return write_file(path, pid, err, err_len);
}

static int setup_v2(const struct jailer_args *a, const char *parent, const char *mounts,
		    struct jailer_undo *undo, char *err, size_t err_len)
{
	char mnt[PATH_MAX], rel[PATH_MAX], dir[PATH_MAX];
	struct enable_ctx ctx = { a, err, err_len };
	struct stat st;
	int ret;

	if (cgroup_mount_of(mounts, 2, NULL, mnt, sizeof(mnt))) {
		snprintf(err, err_len,
			 "cgroup: no cgroup2 hierarchy is mounted (see /proc/mounts; "
			 "--cgroup-version 1 for a v1 host)");
		return -ENOENT;
	}
	if (!a->nr_cgroups) {
		/* Firecracker's rule: join a parent cgroup made beforehand, if there is one */
		if ((ret = pjoin(dir, sizeof(dir), mnt, parent, err, err_len)))
			return ret;
		if (stat(dir, &st) || !S_ISDIR(st.st_mode))
			return 0;
		return join(dir, "cgroup.procs", err, err_len);
	}
	if ((ret = pjoin(rel, sizeof(rel), parent, a->id, err, err_len)))
		return ret;
	if ((ret = make_dirs(mnt, rel, dir, sizeof(dir), v2_enable, &ctx, undo, err, err_len)))
		return ret;
	for (unsigned i = 0; i < a->nr_cgroups; i++) {
		char path[PATH_MAX];

		if ((ret = pjoin(path, sizeof(path), dir, a->cgroups[i].file, err, err_len)))
			return ret;
		if ((ret = write_file(path, a->cgroups[i].value, err, err_len)))
			return ret;
	}
	return join(dir, "cgroup.procs", err, err_len);
}

static int setup_v1(const struct jailer_args *a, const char *parent, const char *mounts,
		    struct jailer_undo *undo, char *err, size_t err_len)
{
	char done[JAILER_MAX_CGROUPS][PATH_MAX];
	unsigned nr_done = 0;
	int ret;

	for (unsigned i = 0; i < a->nr_cgroups; i++) {
		const struct jailer_cgroup *cg = &a->cgroups[i];
		struct inherit_ctx ictx = { err, err_len };
		char mnt[PATH_MAX], rel[PATH_MAX], dir[PATH_MAX], path[PATH_MAX];
		bool seen = false;

		if (cgroup_mount_of(mounts, 1, cg->controller, mnt, sizeof(mnt))) {
			snprintf(err, err_len,
				 "cgroup: no cgroup v1 hierarchy has the '%s' controller (for "
				 "--cgroup %s; --cgroup-version 2 for a v2 host)",
				 cg->controller, cg->file);
			return -ENOENT;
		}
		if ((ret = pjoin(rel, sizeof(rel), parent, a->id, err, err_len)))
			return ret;
		if ((ret = make_dirs(mnt, rel, dir, sizeof(dir),
				     strcmp(cg->controller, "cpuset") ? NULL : cpuset_inherit,
				     &ictx, undo, err, err_len)))
			return ret;
		if ((ret = pjoin(path, sizeof(path), dir, cg->file, err, err_len)))
			return ret;
		if ((ret = write_file(path, cg->value, err, err_len)))
			return ret;
		for (unsigned j = 0; j < nr_done; j++)
			seen |= !strcmp(done[j], dir);
		if (!seen)
			strcpy(done[nr_done++], dir);
	}
	/* the values first, then the move: a cpuset must have its cpus before a task joins */
	for (unsigned j = 0; j < nr_done; j++) {
		if ((ret = join(done[j], "tasks", err, err_len)))
			return ret;
	}
	return 0;
}

int cgroup_setup(const struct jailer_args *a, const char *parent, const char *mounts,
		 struct jailer_undo *undo, char *err, size_t err_len)
{
	if (a->cgroup_version == 2)
		return setup_v2(a, parent, mounts, undo, err, err_len);
	return a->nr_cgroups ? setup_v1(a, parent, mounts, undo, err, err_len) : 0;
}
