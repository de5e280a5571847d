/*
 * jailer.c — vmon-jailer: start a monitor the way Firecracker's jailer starts
 * Firecracker, with its flags and its jail layout, so that an orchestrator that
 * drives one drives the other.
 *
 * The steps, in order (each failure is one line naming its step, status 1):
 *   close every inherited fd but 0-2, empty the environment;
 *   check the id, the exec file (a regular file) and the base directory;
 *   make <base>/<exec name>/<id>/root (it may exist, with files an
 *   orchestrator put there, but not with a <exec name>.pid: that jail is in
 *   use); copy the exec file into it (never through a link) and, for a
 *   dynamically linked one, the libraries the host's loader resolves for it;
 *   join --netns; set the resource limits; make and join the cgroup;
 *   enter a new mount namespace and pivot_root into the jail; make /dev,
 *   /dev/net, /run and the device nodes (kvm, net/tun, vhost-net, urandom,
 *   userfaultfd where the host has them), all owned by uid:gid;
 *   daemonize (--daemonize); fork into a new pid namespace (--new-pid-ns);
 *   write <exec name>.pid; drop to uid:gid with no capabilities and
 *   no_new_privs; exec /<exec name> --id ID --start-time-us T
 *   --start-time-cpu-us T --parent-cpu-time-us T [the arguments after --].
 * Until the pivot_root, a failed step removes what the jailer made (files and
 * directories it created, cgroups it made); after it, the jail is left for the
 * operator to inspect and remove, as with Firecracker's jailer.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jailer/jailer_args.h"
#include "jailer/jailer_cgroup.h"
#include "jailer/jailer_undo.h"

#define STATUS_FAILED 1
#define STATUS_USAGE 2

struct jail {
	struct jailer_args a;
	char exec_path[PATH_MAX]; /* the exec file, canonical */
	const char *exec_name; /* its last component */
	char root[PATH_MAX]; /* <base>/<exec name>/<id>/root */
	unsigned long long start_us, start_cpu_us;
	struct jailer_undo undo;
	char err[PATH_MAX + 256];
};

static unsigned long long now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

/* fail - one line "vmon-jailer: STEP: ..." on stderr; returns -1 */
static int __attribute__((format(printf, 2, 3))) fail(struct jail *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* close every fd above 2 that the jailer inherited */
static void close_inherited(void)
{
	struct rlimit rl;
	long max;

	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
	/* kernels before 5.9: every possible fd */
	max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur
										 : 65536;
	for (long fd = 3; fd < max; fd++)
		close((int)fd);
}

static int check_paths(struct jail *j)
{
	struct stat st;
	char base[PATH_MAX];

	if (!realpath(j->a.exec_file, j->exec_path))
		return fail(j, "exec file %s: %s", j->a.exec_file, strerror(errno));
	if (stat(j->exec_path, &st) || !S_ISREG(st.st_mode))
		return fail(j, "exec file %s is not a file", j->exec_path);
	j->exec_name = strrchr(j->exec_path, '/') + 1;
	if (!realpath(j->a.chroot_base, base))
		return fail(j, "--chroot-base-dir %s: %s", j->a.chroot_base, strerror(errno));
	if (stat(base, &st) || !S_ISDIR(st.st_mode))
		return fail(j, "--chroot-base-dir %s is not a directory", base);
	if ((size_t)snprintf(j->root, sizeof(j->root), "%s/%s/%s/root",
			     strcmp(base, "/") ? base : "", j->exec_name,
			     j->a.id) >= sizeof(j->root) - NAME_MAX - 16)
		return fail(j, "the jail's path under %s is too long", base);
	return 0;
}

/* mkdir -p @path (absolute), noting each directory it makes */
static int make_path(struct jail *j, const char *path, mode_t mode)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char keep = *s;

		*s = 0;
		if (mkdir(p, mode) == 0)
			undo_add(&j->undo, p, true);
		else if (errno != EEXIST)
			return fail(j, "creating %s: %s", p, strerror(errno));
		*s = keep;
		if (!keep)
			return 0;
	}
}

/*
 * copy @src to @dst: created if absent, never through a symlink or onto a file
 * with other links (a hard link would let the jail write the host's file)
 */
static int copy_file(struct jail *j, const char *src, const char *dst, bool own)
{
	struct stat sst, dstst;
	char buf[65536];
	int in, out, ret = 0;
	bool made;
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return fail(j, "opening %s: %s", src, strerror(errno));
	if (fstat(in, &sst)) {
		close(in);
		return fail(j, "reading %s: %s", src, strerror(errno));
	}
	made = access(dst, F_OK) != 0;
	out = open(dst, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, sst.st_mode & 0755);
	if (out < 0) {
		ret = fail(j, "opening %s: %s", dst, strerror(errno));
		goto out;
	}
	if (made)
		undo_add(&j->undo, dst, false);
	if (fstat(out, &dstst) || !S_ISREG(dstst.st_mode)) {
		ret = fail(j, "%s is not a regular file", dst);
		goto out;
	}
	if (dstst.st_nlink > 1) {
		ret = fail(j, "detected a hard link at %s", dst);
		goto out;
	}
	if (ftruncate(out, 0) || fchmod(out, sst.st_mode & 0755) ||
	    (own && fchown(out, j->a.uid, j->a.gid))) {
		ret = fail(j, "preparing %s: %s", dst, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			ret = fail(j, "copying %s to %s: %s", src, dst, strerror(errno));
			goto out;
		}
	}
	if (n < 0)
		ret = fail(j, "reading %s: %s", src, strerror(errno));
out:
	if (out >= 0)
		close(out);
	close(in);
	return ret;
}

/* the ELF's program interpreter (PT_INTERP), or "" for a static executable */
static int elf_interp(struct jail *j, const char *path, char *out, size_t out_len)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	out[0] = 0;
	if (fd < 0)
		return fail(j, "opening %s: %s", path, strerror(errno));
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
		ret = fail(j, "exec file %s is not a 64-bit ELF executable", path);
		goto out;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph))
			break;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz < 2 || ph.p_filesz > out_len ||
		    pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz ||
		    out[ph.p_filesz - 1] || out[0] != '/') {
			ret = fail(j, "exec file %s has a bad program interpreter", path);
			out[0] = 0;
		}
		break;
	}
out:
	close(fd);
	return ret;
}

/* copy @path (absolute, on the host) to the same path inside the jail */
static int copy_into_jail(struct jail *j, const char *path)
{
	char dst[PATH_MAX], dir[PATH_MAX];

	if ((size_t)snprintf(dst, sizeof(dst), "%s%s", j->root, path) >= sizeof(dst))
		return fail(j, "the jail's path for %s is too long", path);
	snprintf(dir, sizeof(dir), "%s", dst);
	*strrchr(dir, '/') = 0;
	if (make_path(j, dir, 0755))
		return -1;
	return copy_file(j, path, dst, false);
}

/*
 * A dynamically linked exec file needs its loader and libraries inside the
 * jail: ask the host's loader which files it would map (ld.so --list, what
 * ldd does; the exec file is the operator's, not the guest's) and copy each.
 */
static int copy_libraries(struct jail *j)
{
	char interp[PATH_MAX], line[PATH_MAX + 64];
	int pfd[2], status, ret = 0;
	FILE *f;
	pid_t pid;

	if (elf_interp(j, j->exec_path, interp, sizeof(interp)))
		return -1;
	if (!interp[0])
		return 0; /* static: nothing to copy */
	if (pipe2(pfd, O_CLOEXEC))
		return fail(j, "libraries: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return fail(j, "libraries: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		char *argv[] = { interp, (char *)"--list", j->exec_path, NULL };
		char *envp[] = { NULL };

		dup2(pfd[1], STDOUT_FILENO);
		execve(interp, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (!f) {
		close(pfd[0]);
		waitpid(pid, NULL, 0);
		return fail(j, "libraries: %s", strerror(errno));
	}
	if (copy_into_jail(j, interp))
		ret = -1;
	while (!ret && fgets(line, sizeof(line), f)) {
		/* "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or "\t/lib64/ld...
		 * (0x...)" */
		char *p = strstr(line, "=> ");
		char *path = p ? p + 3 : line + strspn(line, " \t");

		if (*path != '/')
			continue; /* the vDSO, or "not found" */
		path[strcspn(path, " \t\n")] = 0;
		if (strcmp(path, interp) && copy_into_jail(j, path))
			ret = -1;
	}
	fclose(f);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		if (!ret)
			ret = fail(j, "libraries: %s --list %s failed (status %d)", interp,
				   j->exec_path, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return ret;
}

static int make_jail_dir(struct jail *j)
{
	char pidfile[PATH_MAX + NAME_MAX + 8], exec_dst[PATH_MAX + NAME_MAX + 2];

	snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", j->root, j->exec_name);
	if (access(pidfile, F_OK) == 0)
		return fail(j, "the jail %s is in use or was not cleaned up: %s exists", j->root,
			    pidfile);
	if (make_path(j, j->root, 0755))
		return -1;
	snprintf(exec_dst, sizeof(exec_dst), "%s/%s", j->root, j->exec_name);
	if (copy_file(j, j->exec_path, exec_dst, true))
		return -1;
	return copy_libraries(j);
}

static int join_netns(struct jail *j)
{
	int fd;

	if (!j->a.netns)
		return 0;
	fd = open(j->a.netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(j, "--netns %s: %s", j->a.netns, strerror(errno));
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return fail(j, "joining the network namespace %s: %s", j->a.netns, strerror(errno));
	}
	close(fd);
	return 0;
}

static int set_limits(struct jail *j)
{
	struct rlimit nofile = { j->a.nofile, j->a.nofile };

	if (setrlimit(RLIMIT_NOFILE, &nofile))
		return fail(j, "--resource-limit no-file=%llu: %s", (unsigned long long)j->a.nofile,
			    strerror(errno));
	if (j->a.has_fsize) {
		struct rlimit fsize = { j->a.fsize, j->a.fsize };

		if (setrlimit(RLIMIT_FSIZE, &fsize))
			return fail(j, "--resource-limit fsize=%llu: %s",
				    (unsigned long long)j->a.fsize, strerror(errno));
	}
	return 0;
}

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -errno;
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = 0;
	return 0;
}

static int join_cgroup(struct jail *j)
{
	static char mounts[1 << 16];
	const char *parent = j->a.parent_cgroup ? j->a.parent_cgroup : j->exec_name;
	char why[PATH_MAX + 128];

	if (!j->a.nr_cgroups && j->a.cgroup_version == 1)
		return 0;
	if (read_text("/proc/mounts", mounts, sizeof(mounts)))
		return fail(j, "cgroup: reading /proc/mounts: %s", strerror(errno));
	if (cgroup_setup(&j->a, parent, mounts, &j->undo, why, sizeof(why)))
		return fail(j, "%s", why);
	return 0;
}

/*
 * unshare the mount namespace and make the jail the root (Firecracker's chroot.rs);
 * on an initramfs root, which pivot_root refuses, move the jail onto / instead
 */
static int enter_jail(struct jail *j)
{
	if (unshare(CLONE_NEWNS))
		return fail(j, "jail: a new mount namespace: %s", strerror(errno));
	/* nothing done below reaches the host's mounts */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL))
		return fail(j, "jail: making / a slave mount: %s", strerror(errno));
	if (mount(j->root, j->root, NULL, MS_BIND | MS_REC, NULL))
		return fail(j, "jail: bind-mounting %s: %s", j->root, strerror(errno));
	if (chdir(j->root))
		return fail(j, "jail: entering %s: %s", j->root, strerror(errno));
	if (mkdir("old_root", 0700) && errno != EEXIST)
		return fail(j, "jail: creating %s/old_root: %s", j->root, strerror(errno));
	if (syscall(SYS_pivot_root, ".", "old_root")) {
		if (errno != EINVAL)
			return fail(j, "jail: pivot_root into %s: %s", j->root, strerror(errno));
		/*
		 * EINVAL: the root is the initramfs (rootfs), which cannot be pivoted away
		 * (a host that runs from its initramfs, as the sandbox's L1 does). Move the jail
		 * onto / and chroot there, as runc does without pivot_root: the old root is
		 * under the jail, out of reach of a process without CAP_SYS_CHROOT.
		 */
		if (rmdir("old_root"))
			return fail(j, "jail: removing %s/old_root: %s", j->root, strerror(errno));
		if (mount(".", "/", NULL, MS_MOVE, NULL))
			return fail(j, "jail: moving %s onto / (the root is an initramfs): %s",
				    j->root, strerror(errno));
		undo_forget(&j->undo);
		if (chroot(".") || chdir("/"))
			return fail(j, "jail: chroot: %s", strerror(errno));
		return 0;
	}
	undo_forget(&j->undo); /* the host's paths are out of reach from here */
	if (chdir("/"))
		return fail(j, "jail: chdir /: %s", strerror(errno));
	if (umount2("old_root", MNT_DETACH))
		return fail(j, "jail: unmounting the old root: %s", strerror(errno));
	if (rmdir("old_root"))
		return fail(j, "jail: removing /old_root: %s", strerror(errno));
	if (chroot("."))
		return fail(j, "jail: chroot: %s", strerror(errno));
	return 0;
}

static int own_dir(struct jail *j, const char *dir)
{
	if (mkdir(dir, 0700) && errno != EEXIST)
		return fail(j, "jail: creating %s: %s", dir, strerror(errno));
	if (chmod(dir, 0700) || chown(dir, j->a.uid, j->a.gid))
		return fail(j, "jail: owning %s: %s", dir, strerror(errno));
	return 0;
}

static int make_node(struct jail *j, const char *path, unsigned major, unsigned minor)
{
	if (mknod(path, S_IFCHR | S_IRUSR | S_IWUSR, makedev(major, minor)))
		return fail(j, "jail: mknod %s (%u:%u): %s", path, major, minor, strerror(errno));
	if (chown(path, j->a.uid, j->a.gid))
		return fail(j, "jail: owning %s: %s", path, strerror(errno));
	return 0;
}

/* the misc minor of /dev/userfaultfd on this host, or -1 (read before the jail) */
static int uffd_minor(void)
{
	char buf[4096];
	const char *p;

	if (read_text("/proc/misc", buf, sizeof(buf)))
		return -1;
	for (p = buf; (p = strstr(p, " userfaultfd\n")); p++) {
		const char *s = p;

		while (s > buf && s[-1] >= '0' && s[-1] <= '9')
			s--;
		if (s < p && (s == buf || s[-1] == '\n' || s[-1] == ' '))
			return atoi(s);
	}
	return -1;
}

static int make_devices(struct jail *j, bool vhost, int uffd)
{
	static const char *const dirs[] = { "/", "/dev", "/dev/net", "/run" };

	for (unsigned i = 0; i < 4; i++)
		if (own_dir(j, dirs[i]))
			return -1;
	if (make_node(j, "/dev/net/tun", 10, 200) || make_node(j, "/dev/kvm", 10, 232))
		return -1;
	if (make_node(j, "/dev/urandom", 1, 9))
		fprintf(stderr, "vmon-jailer: warning: %s (the guest still gets getrandom)\n",
			j->err);
	if (vhost && make_node(j, "/dev/vhost-net", 10, 238))
		return -1;
	if (uffd >= 0 && make_node(j, "/dev/userfaultfd", 10, (unsigned)uffd))
		return -1;
	return 0;
}

static int write_pid(struct jail *j, pid_t pid)
{
	char path[NAME_MAX + 8], text[24];
	int fd, n;

	snprintf(path, sizeof(path), "/%s.pid", j->exec_name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(j, "writing the pid file %s: %s", path, strerror(errno));
	n = snprintf(text, sizeof(text), "%d", (int)pid);
	if (write(fd, text, (size_t)n) != n) {
		close(fd);
		return fail(j, "writing the pid file %s: %s", path, strerror(errno));
	}
	close(fd);
	return 0;
}

/*
 * uid:gid, no supplementary groups, no capabilities in any set, no_new_privs.
 * --uid 0 keeps root's capabilities, as Firecracker's jailer does: Kata
 * Containers starts it so, for TAP devices made without an owner.
 */
static int drop_privileges(struct jail *j)
{
	gid_t gid = j->a.gid;

	for (int cap = 0; j->a.uid && cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno == EINVAL)
			break;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (setgroups(1, &gid))
		return fail(j, "dropping privileges: setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid))
		return fail(j, "dropping privileges: gid %u: %s", (unsigned)gid, strerror(errno));
	if (setresuid(j->a.uid, j->a.uid, j->a.uid))
		return fail(j, "dropping privileges: uid %u: %s", (unsigned)j->a.uid,
			    strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(j, "dropping privileges: no_new_privs: %s", strerror(errno));
	return 0;
}

static void exec_monitor(struct jail *j, unsigned long long parent_cpu_us)
{
	char exe[NAME_MAX + 2], start[24], cpu[24], parent[24];
	char **argv = calloc((size_t)j->a.nr_extra + 10, sizeof(*argv));
	char *envp[] = { NULL };
	int n = 0;

	if (!argv) {
		fail(j, "exec: out of memory");
		return;
	}
	snprintf(exe, sizeof(exe), "/%s", j->exec_name);
	snprintf(start, sizeof(start), "%llu", j->start_us);
	snprintf(cpu, sizeof(cpu), "%llu", now_us(CLOCK_PROCESS_CPUTIME_ID));
	snprintf(parent, sizeof(parent), "%llu", parent_cpu_us);
	argv[n++] = exe;
	argv[n++] = (char *)"--id";
	argv[n++] = (char *)j->a.id;
	argv[n++] = (char *)"--start-time-us";
	argv[n++] = start;
	argv[n++] = (char *)"--start-time-cpu-us";
	argv[n++] = cpu;
	argv[n++] = (char *)"--parent-cpu-time-us";
	argv[n++] = parent;
	for (int i = 0; i < j->a.nr_extra; i++)
		argv[n++] = j->a.extra[i];
	argv[n] = NULL;
	execve(exe, argv, envp);
	fail(j, "exec %s in the jail: %s", exe, strerror(errno));
	free(argv);
}

/* --daemonize: two forks (no session leader, no terminal), stdio on /dev/null */
static int daemonize(struct jail *j, int devnull)
{
	pid_t pid = fork();

	if (pid < 0)
		return fail(j, "daemonize: fork: %s", strerror(errno));
	if (pid)
		_exit(0);
	if (setsid() < 0)
		return fail(j, "daemonize: setsid: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return fail(j, "daemonize: fork: %s", strerror(errno));
	if (pid)
		_exit(0);
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0 ||
	    dup2(devnull, STDERR_FILENO) < 0)
		return fail(j, "daemonize: /dev/null on standard I/O: %s", strerror(errno));
	close(devnull);
	return 0;
}

static int run(struct jail *j)
{
	unsigned long long cpu0;
	int devnull = -1, uffd;
	bool vhost;
	pid_t pid;

	if (check_paths(j) || make_jail_dir(j) || join_netns(j) || set_limits(j) || join_cgroup(j))
		return -1;
	vhost = access("/dev/vhost-net", F_OK) == 0;
	uffd = uffd_minor();
	if (j->a.daemonize && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return fail(j, "daemonize: /dev/null: %s", strerror(errno));
	if (enter_jail(j) || make_devices(j, vhost, uffd))
		return -1;
	if (j->a.daemonize && daemonize(j, devnull))
		return -1;
	cpu0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	if (j->a.new_pid_ns) {
		bool leader = !j->a.daemonize && getsid(0) == getpid();

		pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
		if (pid < 0)
			return fail(j, "a new pid namespace: clone: %s", strerror(errno));
		if (pid) {
			/* the jailer's part ends here; the monitor is pid 1 of its namespace */
			if (write_pid(j, pid))
				return -1;
			_exit(0);
		}
		/* a session leader's exit would SIGHUP the monitor: it leads a new session */
		if (leader)
			setsid();
	} else if (write_pid(j, getpid())) {
		return -1;
	}
	if (drop_privileges(j))
		return -1;
	exec_monitor(j, cpu0);
	return -1;
}

int main(int argc, char **argv)
{
	static struct jail j;

	j.start_us = now_us(CLOCK_MONOTONIC);
	j.start_cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID);
	if (jailer_parse(argc, argv, &j.a, j.err, sizeof(j.err))) {
		if (!strcmp(j.err, "help")) {
			fputs(jailer_usage(), stdout);
			return 0;
		}
		fprintf(stderr, "vmon-jailer: %s\n", j.err);
		return STATUS_USAGE;
	}
	close_inherited();
	clearenv();
	if (run(&j)) {
		undo_run(&j.undo);
		fprintf(stderr, "vmon-jailer: %s\n", j.err);
		return STATUS_FAILED;
	}
	return 0;
}
