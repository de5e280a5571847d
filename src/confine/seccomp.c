/*
 * seccomp.c — turns seccomp_policy.c's lists into BPF once, at start
 * (libseccomp), installs a kind's program on a thread in one system call, and
 * reports a forbidden call in one line.
 */
#include "confine/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "util/compiler.h"

#define MAX_SYSCALL_NR 512 /* names kept for the report: x86-64 numbers end near 460 */

/*
 * What confine_setup made; read-only afterwards, so any thread may read it.
 * Process-wide, as the filters' subject (the process's threads) is.
 */
static struct {
	bool enabled;
	struct sock_fprog prog[CONFINE_NR_KINDS];
	const char *names[MAX_SYSCALL_NR];
	int selftest; /* VMON_TEST_SECCOMP_VIOLATION: the kind that breaks its filter, or -1 */
} confine = { .selftest = -1 };

/*
 * Where the SIGSYS handler counts the fault, as Firecracker's metrics count it
 * (seccomp.num_faults): the metrics sink of PUT /metrics, or -1. Set by the API, read by the
 * handler on any thread.
 */
static int fault_fd = -1;

void confine_set_fault_sink(int fd)
{
	__atomic_store_n(&fault_fd, fd, __ATOMIC_SEQ_CST);
}

/* What this thread runs under, for idempotence and for the report. */
static __thread unsigned thread_kinds;
static __thread char thread_name[16];

static const char *const kind_names[CONFINE_NR_KINDS] = { "control", "vcpu", "io" };

const char *confine_kind_name(enum confine_kind kind)
{
	return kind < CONFINE_NR_KINDS ? kind_names[kind] : "?";
}

bool confine_enabled(void)
{
	return confine.enabled;
}

/* ---- the report, from the SIGSYS handler: async-signal-safe calls only ---- */

static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_uint(char *buf, size_t at, size_t cap, unsigned long v)
{
	char d[24];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && at + 1 < cap)
		buf[at++] = d[--n];
	return at;
}

static size_t put_hex(char *buf, size_t at, size_t cap, unsigned long v)
{
	static const char hex[] = "0123456789abcdef";
	char d[24];
	int n = 0;

	do {
		d[n++] = hex[v & 15];
		v >>= 4;
	} while (v);
	at = put_str(buf, at, cap, "0x");
	while (n && at + 1 < cap)
		buf[at++] = d[--n];
	return at;
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	const ucontext_t *uc = ucv;
	char line[320];
	size_t n = 0;
	int nr = si->si_syscall;

	(void)sig;
	n = put_str(line, n, sizeof(line), "vmon: seccomp: thread '");
	n = put_str(line, n, sizeof(line), thread_name[0] ? thread_name : "main");
	n = put_str(line, n, sizeof(line), "' made a forbidden system call: ");
	if (nr >= 0 && nr < MAX_SYSCALL_NR && confine.names[nr])
		n = put_str(line, n, sizeof(line), confine.names[nr]);
	else
		n = put_str(line, n, sizeof(line), "?");
	n = put_str(line, n, sizeof(line), " (");
	n = put_uint(line, n, sizeof(line), (unsigned long)(nr < 0 ? 0 : nr));
	if (nr == SYS_openat || nr == SYS_open) { /* which file: vmon's own string */
		const char *path =
			(const char *)uc->uc_mcontext.gregs[nr == SYS_open ? REG_RDI : REG_RSI];
		size_t len = 0;

		n = put_str(line, n, sizeof(line), ", ");
		while (path && path[len] && len < 80 && n + 1 < sizeof(line))
			line[n++] = path[len++];
	}
	if (nr == SYS_ioctl) { /* which request: the second argument, in RSI */
		n = put_str(line, n, sizeof(line), ", request ");
		n = put_hex(line, n, sizeof(line), (unsigned long)uc->uc_mcontext.gregs[REG_RSI]);
	}
	n = put_str(line, n, sizeof(line), "); ending vmon\n");
	/*
	 * One report: two threads (say two block workers) that trap at once would
	 * both write, so the second waits for the first's exit_group instead
	 * (nanosleep: every kind's filter has it).
	 */
	static int reported;
	if (__atomic_exchange_n(&reported, 1, __ATOMIC_SEQ_CST)) {
		struct timespec ts = { .tv_sec = 1 };

		for (;;)
			syscall(SYS_nanosleep, &ts, NULL);
	}
	/* Raw calls: a sanitizer's _exit would run its leak check here, itself forbidden. */
	syscall(SYS_write, STDERR_FILENO, line, n);
	int fd = __atomic_load_n(&fault_fd, __ATOMIC_SEQ_CST);
	if (fd >= 0) {
		/* one metrics line, in one write: the fault counted (clock_gettime: every filter
		 * has it) */
		struct timespec now = { 0 };

		syscall(SYS_clock_gettime, CLOCK_REALTIME, &now);
		n = put_str(line, 0, sizeof(line), "{\"utc_timestamp_ms\":");
		n = put_uint(line, n, sizeof(line),
			     (unsigned long)now.tv_sec * 1000ul +
				     (unsigned long)now.tv_nsec / 1000000ul);
		n = put_str(line, n, sizeof(line), ",\"seccomp\":{\"num_faults\":1}}\n");
		syscall(SYS_write, fd, line, n);
	}
	syscall(SYS_exit_group, CONFINE_EXIT_BAD_SYSCALL);
}

/* ---- building the programs ---- */

static int add_rule(scmp_filter_ctx ctx, const struct confine_rule *r)
{
	struct scmp_arg_cmp cmp[2];
	unsigned n = 0;

	for (unsigned i = 0; i < 2 && r->arg[i].cmp != CONFINE_ANY; i++) {
		const struct confine_arg *a = &r->arg[i];

		switch (a->cmp) {
		case CONFINE_EQ:
			cmp[n++] = SCMP_CMP(a->index, SCMP_CMP_EQ, a->value);
			break;
		case CONFINE_MASK_CLEAR:
			cmp[n++] = SCMP_CMP(a->index, SCMP_CMP_MASKED_EQ, a->value, 0);
			break;
		case CONFINE_MASK_SET:
			cmp[n++] = SCMP_CMP(a->index, SCMP_CMP_MASKED_EQ, a->value, a->value);
			break;
		case CONFINE_EQ32:
		default:
			cmp[n++] = SCMP_CMP(a->index, SCMP_CMP_MASKED_EQ, 0xffffffffull, a->value);
			break;
		}
	}
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r->nr, n, cmp);
}

/* The BPF of one policy, copied out of libseccomp into @prog. */
static int build(enum confine_kind kind, struct sock_fprog *prog, char *err, size_t err_len)
{
	struct confine_policy p;
	scmp_filter_ctx ctx;
	int ret = -ENOMEM, fd = -1;
	off_t len;

	confine_policy(kind, &p);
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!p.rules || !ctx)
		goto out;
	for (size_t i = 0; i < p.nr_rules; i++) {
		ret = add_rule(ctx, &p.rules[i]);
		if (ret) {
			snprintf(err, err_len, "seccomp: %s filter: rule for system call %d: %s",
				 kind_names[kind], p.rules[i].nr, strerror(-ret));
			goto out;
		}
	}
	for (size_t i = 0; i < p.nr_errnos; i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((unsigned)p.errnos[i].err),
				       p.errnos[i].nr, 0);
		if (ret)
			goto out;
	}
	/*
	 * Every exit a vCPU thread serves ends in ioctl(KVM_RUN): test it first
	 * (bench/exit measures the filter's cost per exit), and dispatch the
	 * other calls through a binary tree rather than a list (libseccomp 2.5;
	 * an older one keeps the list, which is only slower).
	 */
	if (kind == CONFINE_VCPU)
		seccomp_syscall_priority(ctx, __NR_ioctl, 255);
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	/* libseccomp writes the program to a file descriptor: read it back from a memfd */
	fd = (int)syscall(SYS_memfd_create, "vmon-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = seccomp_export_bpf(ctx, fd);
	if (ret)
		goto out;
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % (off_t)sizeof(struct sock_filter) ||
	    len / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = -EINVAL;
		goto out;
	}
	prog->filter = malloc((size_t)len);
	if (!prog->filter) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(fd, prog->filter, (size_t)len, 0) != len) {
		ret = -EIO;
		free(prog->filter);
		prog->filter = NULL;
		goto out;
	}
	prog->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	ret = 0;
out:
	if (ret && !err[0])
		snprintf(err, err_len, "seccomp: cannot build the %s filter: %s", kind_names[kind],
			 strerror(-ret));
	if (fd >= 0)
		close(fd);
	if (ctx)
		seccomp_release(ctx);
	confine_policy_release(&p);
	return ret;
}

int confine_setup(bool enabled, char *err, size_t err_len)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	int ret;

	if (err_len)
		err[0] = '\0';
	confine.enabled = false;
	if (!enabled)
		return 0;
	for (int kind = 0; kind < CONFINE_NR_KINDS; kind++) {
		ret = build((enum confine_kind)kind, &confine.prog[kind], err, err_len);
		if (ret)
			return ret;
	}
	for (int nr = 0; nr < MAX_SYSCALL_NR; nr++)
		confine.names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	/*
	 * What glibc loads on first use, loaded now while every call is allowed: the
	 * time zone (gmtime_r's first call opens /etc/localtime: the RTC calls it on
	 * a vCPU thread).
	 */
	tzset();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		ret = -errno;
		snprintf(err, err_len, "seccomp: cannot catch SIGSYS: %s", strerror(-ret));
		return ret;
	}
	/*
	 * The test hook: a thread of the kind named here makes a call outside its
	 * filter as soon as it is confined, so the tests see the filter end vmon.
	 */
	confine.selftest = -1;
	for (int kind = 0; kind < CONFINE_NR_KINDS; kind++)
		if (getenv("VMON_TEST_SECCOMP_VIOLATION") &&
		    !strcmp(getenv("VMON_TEST_SECCOMP_VIOLATION"), kind_names[kind]))
			confine.selftest = kind;
	confine.enabled = true;
	return 0;
}

unsigned confine_filter_length(enum confine_kind kind)
{
	return kind < CONFINE_NR_KINDS ? confine.prog[kind].len : 0;
}

/* What the test hook calls: each outside its kind's list, each harmless if it were let through. */
static void break_filter(enum confine_kind kind)
{
	switch (kind) {
	case CONFINE_VCPU:
		syscall(SYS_openat, -100 /* AT_FDCWD */, "/etc/passwd", 0 /* O_RDONLY */);
		break;
	case CONFINE_CONTROL:
	case CONFINE_IO:
	default:
		syscall(SYS_socket, AF_NETLINK, SOCK_RAW,
			0); /* no kind may make a netlink socket */
		break;
	}
}

int confine_thread(enum confine_kind kind, const char *name)
{
	if (!confine.enabled || kind >= CONFINE_NR_KINDS || (thread_kinds & (1u << kind)))
		return 0;
	if (name) {
		strncpy(thread_name, name, sizeof(thread_name) - 1);
		thread_name[sizeof(thread_name) - 1] = '\0';
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &confine.prog[kind]) < 0)
		return -errno;
	thread_kinds |= 1u << kind;
	if (confine.selftest == (int)kind)
		break_filter(kind);
	return 0;
}
