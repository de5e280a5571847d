/*
 * test_seccomp.c — the per-thread filters (src/confine): how the policies nest,
 * that each builds, and, in a forked child per case, that a confined thread may
 * make the calls of its kind and dies with the one-line report and status 148
 * on any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine/seccomp.h"
#include "harness.h"

static bool policy_has(const struct confine_policy *p, const struct confine_rule *x)
{
	for (size_t i = 0; i < p->nr_rules; i++) {
		const struct confine_rule *r = &p->rules[i];
		bool same = r->nr == x->nr;

		for (unsigned a = 0; same && a < 2; a++)
			same = r->arg[a].cmp == x->arg[a].cmp &&
			       r->arg[a].index == x->arg[a].index &&
			       r->arg[a].value == x->arg[a].value;
		if (same)
			return true;
	}
	return false;
}

static bool policy_allows_any(const struct confine_policy *p, int nr)
{
	for (size_t i = 0; i < p->nr_rules; i++)
		if (p->rules[i].nr == nr)
			return true;
	return false;
}

/* A vCPU or I/O thread started by a confined control thread runs under both filters. */
TEST(seccomp_control_policy_holds_what_its_threads_need)
{
	struct confine_policy c, v, io;

	confine_policy(CONFINE_CONTROL, &c);
	confine_policy(CONFINE_VCPU, &v);
	confine_policy(CONFINE_IO, &io);
	REQUIRE(c.rules && v.rules && io.rules);
	for (size_t i = 0; i < v.nr_rules; i++)
		CHECK(policy_has(&c, &v.rules[i]));
	for (size_t i = 0; i < io.nr_rules; i++)
		CHECK(policy_has(&c, &io.rules[i]));
	/* what no kind may do */
	static const int never[] = { __NR_execve,  __NR_execveat, __NR_fork,
				     __NR_vfork,   __NR_ptrace,	  __NR_process_vm_writev,
				     __NR_mount,   __NR_bpf,	  __NR_keyctl,
				     __NR_unshare, __NR_setns,	  __NR_init_module };
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		CHECK(!policy_allows_any(&c, never[i]));
		CHECK(!policy_allows_any(&v, never[i]));
		CHECK(!policy_allows_any(&io, never[i]));
	}
	/* the narrower kinds open nothing, make no sockets, start no threads */
	CHECK(!policy_allows_any(&v, __NR_openat) && !policy_allows_any(&io, __NR_openat));
	CHECK(!policy_allows_any(&v, __NR_socket) && !policy_allows_any(&io, __NR_socket));
	CHECK(!policy_allows_any(&v, __NR_clone) && !policy_allows_any(&io, __NR_clone));
	CHECK(!policy_allows_any(&io, __NR_ioctl));
	confine_policy_release(&c);
	confine_policy_release(&v);
	confine_policy_release(&io);
}

TEST(seccomp_filters_build)
{
	char err[256];

	REQUIRE(confine_setup(true, err, sizeof(err)) == 0);
	CHECK(confine_enabled());
	for (int k = 0; k < CONFINE_NR_KINDS; k++) {
		CHECK(confine_filter_length((enum confine_kind)k) > 10);
		CHECK(confine_filter_length((enum confine_kind)k) <= 4096);
	}
	CHECK(confine_filter_length(CONFINE_CONTROL) > confine_filter_length(CONFINE_VCPU));
	REQUIRE(confine_setup(false, err, sizeof(err)) == 0);
	CHECK(!confine_enabled());
	CHECK_EQ(confine_thread(CONFINE_VCPU, "x"), 0); /* off: nothing installed */
}

/*
 * Run @body in a child confined as @kind; the child exits 0 when body returns. Returns the
 * child's wait status, and its stderr in @out.
 */
static int in_child(enum confine_kind kind, void (*body)(void), char *out, size_t out_len)
{
	int pfd[2], status = -1;
	char err[256];
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		if (confine_setup(true, err, sizeof(err)) || confine_thread(kind, "tester"))
			_exit(99);
		body();
		_exit(0);
	}
	close(pfd[1]);
	while (got + 1 < (ssize_t)out_len && (n = read(pfd[0], out + got, out_len - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return status;
}

static bool died_reporting(int status, const char *out, const char *call)
{
	char want[128];

	snprintf(want, sizeof(want),
		 "vmon: seccomp: thread 'tester' made a forbidden system call: %s", call);
	if (WIFEXITED(status) && WEXITSTATUS(status) == CONFINE_EXIT_BAD_SYSCALL &&
	    strstr(out, want) != NULL)
		return true;
	printf("#   child status 0x%x, stderr: %s\n", (unsigned)status, out);
	return false;
}

static void vcpu_body_open(void)
{
	static const char msg[] = "writes are fine\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(98);
	open("/etc/hostname", O_RDONLY);
}

TEST(seccomp_vcpu_thread_dies_on_open_with_report)
{
	char out[512];
	int status = in_child(CONFINE_VCPU, vcpu_body_open, out, sizeof(out));

	CHECK(strstr(out, "writes are fine") != NULL);
	CHECK(died_reporting(status, out, "openat (257, /etc/hostname)"));
}

static void vcpu_body_ioctl(void)
{
	int n;

	ioctl(0, FIONREAD, &n); /* not a vCPU's ioctl */
}

TEST(seccomp_vcpu_thread_names_the_forbidden_ioctl)
{
	char out[512], want[64];
	int status = in_child(CONFINE_VCPU, vcpu_body_ioctl, out, sizeof(out));

	snprintf(want, sizeof(want), "ioctl (16, request 0x%x)", (unsigned)FIONREAD);
	CHECK(died_reporting(status, out, want));
}

static void control_body_sockets(void)
{
	static const int allowed[] = { AF_UNIX, AF_INET };

	for (unsigned i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int fd = socket(allowed[i], SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			_exit(97);
		close(fd);
	}
	socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0); /* may fail (no IPv6), never kills */
	socket(AF_NETLINK, SOCK_RAW, 0);
}

/* The API's Unix socket and a migration's TCP stream; never netlink, packet or raw sockets. */
TEST(seccomp_control_thread_may_use_unix_and_ip_sockets_only)
{
	char out[512];
	int status = in_child(CONFINE_CONTROL, control_body_sockets, out, sizeof(out));

	CHECK(died_reporting(status, out, "socket (41)"));
}

static void control_body_exec_mapping(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(97);
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

TEST(seccomp_control_thread_may_not_map_code)
{
	char out[512];
	int status = in_child(CONFINE_CONTROL, control_body_exec_mapping, out, sizeof(out));

	CHECK(died_reporting(status, out, "mprotect (10)"));
}

static void *noop_thread(void *arg)
{
	return arg;
}

static void control_body_threads(void)
{
	pthread_t t;

	/* clone3 answers ENOSYS (its flags are out of a filter's reach); glibc falls back to clone
	 */
	if (syscall(__NR_clone3, NULL, 0) != -1 || errno != ENOSYS)
		_exit(96);
	if (pthread_create(&t, NULL, noop_thread, NULL) || pthread_join(t, NULL))
		_exit(95);
	if (fork() == 0) /* a process: clone without CLONE_THREAD */
		_exit(0);
}

TEST(seccomp_control_thread_starts_threads_not_processes)
{
	char out[512];
	int status = in_child(CONFINE_CONTROL, control_body_threads, out, sizeof(out));

	CHECK(died_reporting(status, out, "clone (56)"));
}

static void io_body(void)
{
	char buf[16];

	/* pread on stderr (a pipe here): allowed, and ESPIPE */
	if (pread(STDERR_FILENO, buf, 1, 0) != -1 || errno != ESPIPE)
		_exit(93);
	ioctl(STDERR_FILENO, FIONREAD, buf);
}

TEST(seccomp_io_thread_makes_no_ioctl)
{
	char out[512];
	int status = in_child(CONFINE_IO, io_body, out, sizeof(out));

	CHECK(died_reporting(status, out, "ioctl (16"));
}

/* A forbidden call counts itself in the metrics sink (Firecracker's seccomp.num_faults) first. */
TEST(seccomp_fault_writes_one_metrics_line_before_vmon_ends)
{
	int sink[2], errp[2], status = -1;
	char line[256] = "", err[256];
	ssize_t n;
	pid_t pid;

	REQUIRE(pipe(sink) == 0 && pipe(errp) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(errp[1], STDERR_FILENO);
		confine_set_fault_sink(sink[1]);
		if (confine_setup(true, err, sizeof(err)) || confine_thread(CONFINE_VCPU, "tester"))
			_exit(99);
		open("/etc/hostname", O_RDONLY);
		_exit(0);
	}
	close(sink[1]);
	close(errp[1]);
	n = read(sink[0], line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = '\0';
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == CONFINE_EXIT_BAD_SYSCALL);
	CHECK(!strncmp(line, "{\"utc_timestamp_ms\":", 20));
	CHECK(strstr(line, ",\"seccomp\":{\"num_faults\":1}}\n") != NULL);
	CHECK(strchr(line, '\n') == line + strlen(line) - 1); /* one line */
	close(sink[0]);
	close(errp[0]);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(seccomp_fault_writes_one_metrics_line_before_vmon_ends)
	HARNESS_T(seccomp_control_policy_holds_what_its_threads_need)
	HARNESS_T(seccomp_filters_build)
	HARNESS_T(seccomp_vcpu_thread_dies_on_open_with_report)
	HARNESS_T(seccomp_vcpu_thread_names_the_forbidden_ioctl)
	HARNESS_T(seccomp_control_thread_may_use_unix_and_ip_sockets_only)
	HARNESS_T(seccomp_control_thread_may_not_map_code)
	HARNESS_T(seccomp_control_thread_starts_threads_not_processes)
	HARNESS_T(seccomp_io_thread_makes_no_ioctl)
)
// clang-format on
