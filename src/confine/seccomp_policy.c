/*
 * seccomp_policy.c — what each kind of vmon thread may call. The one place to
 * read (and to change) vmon's syscall policy; seccomp.c turns it into filters.
 *
 * Derived from what vmon's glibc build really calls (strace -f of the KVM tier,
 * the API and snapshot tests and the sandbox scenarios, split by thread), plus
 * the calls glibc makes on paths those runs did not take (malloc growing an
 * arena, abort). Anything else ends vmon with a report: no execve, no fork, no
 * sockets but Unix and TCP/IP stream ones on the control threads (the API, a
 * live migration's stream), no ptrace or process_vm_*, no mount, no bpf, no
 * keyctl, no PROT_EXEC mappings after start.
 *
 * x86-64 only, as vmon is. Adding a call: put it in the list of the kind that
 * makes it, with a comment saying what needs it.
 */
#include "confine/seccomp.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>

#include "util/compiler.h"

/* The lists are laid out by hand, a line per purpose. */
/* clang-format off */

/* Calls every kind makes: memory, locks, time, signals, leaving. */
#define COMMON_CALLS \
	__NR_futex, __NR_brk, __NR_madvise, __NR_munmap, __NR_mremap, \
	__NR_clock_gettime, __NR_clock_nanosleep, __NR_nanosleep, __NR_gettimeofday, __NR_sched_yield, \
	__NR_getpid, __NR_gettid, __NR_tgkill, __NR_rt_sigprocmask, __NR_rt_sigreturn, \
	__NR_restart_syscall, __NR_exit, __NR_exit_group, __NR_write, __NR_read, __NR_getrandom

/* The event loop (which also serves the API and metrics) and a migration receiver: they run the
 * VM's devices and build its state. */
static const int control_calls[] = {
	COMMON_CALLS,
	/* files: images, snapshot files, logs, metrics, /proc/self/pagemap, /proc scans */
	__NR_openat, __NR_open, __NR_close, __NR_lseek, __NR_fstat, __NR_newfstatat, __NR_stat,
	__NR_lstat, __NR_statx, __NR_access, __NR_faccessat, __NR_faccessat2, __NR_readlink,
	__NR_getdents64, __NR_pread64, __NR_pwrite64, __NR_readv, __NR_writev, __NR_preadv,
	__NR_pwritev, __NR_fsync, __NR_fdatasync, __NR_ftruncate, __NR_fallocate, __NR_unlink,
	__NR_unlinkat, __NR_rename, __NR_renameat, __NR_renameat2, __NR_chmod, __NR_fchmod,
	__NR_umask, __NR_fcntl, __NR_dup, __NR_dup2, __NR_dup3, __NR_pipe2,
	/* the event loop and its fds */
	__NR_epoll_create1, __NR_epoll_ctl, __NR_epoll_wait, __NR_epoll_pwait, __NR_eventfd2,
	__NR_signalfd4, __NR_timerfd_create, __NR_timerfd_settime, __NR_timerfd_gettime,
	__NR_poll, __NR_ppoll, __NR_select, __NR_pselect6,
	/* the API's Unix socket (socket() itself: AF_UNIX only, below) */
	__NR_bind, __NR_listen, __NR_accept, __NR_accept4, __NR_connect, __NR_getsockname,
	__NR_getpeername, __NR_getsockopt, __NR_setsockopt, __NR_recvfrom, __NR_recvmsg,
	__NR_sendto, __NR_sendmsg, __NR_shutdown,
	/* block I/O through io_uring */
	__NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
	/* threads (clone: CLONE_THREAD only, below), signals, limits */
	__NR_set_robust_list, __NR_rseq, __NR_rt_sigaction, __NR_sigaltstack, __NR_rt_sigtimedwait,
	__NR_prlimit64, __NR_sched_getaffinity, __NR_uname, __NR_getuid, __NR_geteuid,
	__NR_getgid, __NR_getegid, __NR_membarrier,
	/* the vCPU and I/O threads it starts confine themselves */
	__NR_seccomp,
	/* a snapshot restored with the Uffd memory backend (snapshot/memuffd.c) */
	__NR_userfaultfd,
};

/* A vCPU thread: KVM_RUN and the device models' register handlers. */
static const int vcpu_calls[] = {
	COMMON_CALLS,
	/* device models on the exit path: console output, TAP frames, block requests in line,
	 * eventfds for the queues a guest enables, RTC timers */
	__NR_readv, __NR_writev, __NR_pread64, __NR_pwrite64, __NR_preadv, __NR_pwritev,
	__NR_fsync, __NR_fdatasync, __NR_fallocate, __NR_io_uring_enter, __NR_eventfd2,
	__NR_close, __NR_fcntl, __NR_epoll_ctl, __NR_timerfd_settime, __NR_timerfd_gettime,
};

/* A block worker thread (the thread-pool engine): the image's I/O, its eventfd. */
static const int io_calls[] = {
	COMMON_CALLS,
	__NR_pread64, __NR_pwrite64, __NR_preadv, __NR_pwritev, __NR_readv, __NR_writev,
	__NR_fsync, __NR_fdatasync, __NR_fallocate,
};

/* ioctls the control threads make, on /dev/kvm, the VM, its vCPUs, TAP, vhost-net, images. */
static const unsigned long control_ioctls[] = {
	/* system */
	KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE,
	KVM_GET_SUPPORTED_CPUID, KVM_GET_MSR_INDEX_LIST,
	/* VM */
	KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION, KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR,
	KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2, KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, KVM_GET_PIT2,
	KVM_SET_PIT2, KVM_GET_CLOCK, KVM_SET_CLOCK, KVM_GET_DIRTY_LOG, KVM_IRQ_LINE, KVM_IRQFD,
	KVM_IOEVENTFD, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI, KVM_ENABLE_CAP,
	/* vCPU state: boot, pause, dump, snapshot, restore */
	KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_FPU, KVM_SET_FPU,
	KVM_GET_MSRS, KVM_SET_MSRS, KVM_SET_CPUID2, KVM_GET_CPUID2, KVM_GET_LAPIC, KVM_SET_LAPIC,
	KVM_GET_MP_STATE, KVM_SET_MP_STATE, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
	KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, KVM_GET_XSAVE, KVM_GET_XSAVE2, KVM_SET_XSAVE,
	KVM_GET_XCRS, KVM_SET_XCRS, KVM_GET_TSC_KHZ, KVM_SET_TSC_KHZ, KVM_TRANSLATE,
	/* TAP and vhost-net: set-up and feature changes */
	TUNSETIFF, TUNSETVNETHDRSZ, TUNSETSNDBUF, TUNSETOFFLOAD,
	VHOST_SET_OWNER, VHOST_GET_FEATURES, VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE,
	VHOST_SET_VRING_NUM, VHOST_SET_VRING_BASE, VHOST_GET_VRING_BASE, VHOST_SET_VRING_ADDR,
	VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL, VHOST_NET_SET_BACKEND,
	/* images and the console terminal */
	BLKGETSIZE64, TCGETS, TCSETS, TCSETSW, TCSETSF, FIONBIO, FIONREAD,
	/* the Uffd memory backend: the userfaultfd's set-up, /dev/userfaultfd's */
	UFFDIO_API, UFFDIO_REGISTER, USERFAULTFD_IOC_NEW,
};

/*
 * ioctls a vCPU thread makes: running; the interrupts and routes a guest's register writes
 * change (MSI-X, queue notifiers); its own state for a pause or dump; and what a guest's
 * feature negotiation or DRIVER_OK sets on TAP and vhost-net.
 */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_TRANSLATE,
	KVM_GET_MSRS, KVM_SET_MSRS, KVM_GET_LAPIC, KVM_GET_MP_STATE, KVM_GET_VCPU_EVENTS,
	KVM_SET_VCPU_EVENTS,
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_IRQFD, KVM_IOEVENTFD, KVM_SET_GSI_ROUTING, KVM_GET_CLOCK,
	TUNSETOFFLOAD, TUNSETVNETHDRSZ,
	VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, VHOST_SET_VRING_NUM, VHOST_SET_VRING_BASE,
	VHOST_GET_VRING_BASE, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL,
	VHOST_NET_SET_BACKEND,
};

/* clang-format on */

/* Rules with argument tests, shared by the kinds that have them. */
#define NO_EXEC(nr)                                                                                \
	{                                                                                          \
		nr,                                                                                \
		{                                                                                  \
			{                                                                          \
				CONFINE_MASK_CLEAR, 2, PROT_EXEC                                   \
			}                                                                          \
		}                                                                                  \
	}
static const struct confine_rule memory_rules[] = {
	NO_EXEC(__NR_mmap), /* guest RAM, rings, malloc arenas: never executable */
	NO_EXEC(__NR_mprotect),
};
static const struct confine_rule control_rules[] = {
	{ __NR_socket,
	  { { CONFINE_EQ32, 0, AF_UNIX } } }, /* the API socket, a stale-socket probe */
	{ __NR_socket, { { CONFINE_EQ32, 0, AF_INET } } }, /* a live migration's stream */
	{ __NR_socket, { { CONFINE_EQ32, 0, AF_INET6 } } },
	{ __NR_clone, { { CONFINE_MASK_SET, 0, CLONE_THREAD } } }, /* threads, never processes */
	{ __NR_prctl, { { CONFINE_EQ32, 0, PR_SET_NAME } } },
	{ __NR_prctl, { { CONFINE_EQ32, 0, PR_SET_NO_NEW_PRIVS } } }, /* before seccomp() */
	{ __NR_prctl, { { CONFINE_EQ32, 0, PR_GET_NO_NEW_PRIVS } } },
};
/* clone3 takes its flags in memory a filter cannot read: answer ENOSYS, glibc uses clone. */
static const struct confine_errno_rule control_errnos[] = { { __NR_clone3, ENOSYS } };

/* Is an equal rule among the @n of @r? (The kinds' lists overlap; each rule goes in once.) */
static bool has_rule(const struct confine_rule *r, size_t n, const struct confine_rule *x)
{
	for (size_t i = 0; i < n; i++) {
		bool same = r[i].nr == x->nr;

		for (unsigned a = 0; same && a < 2; a++)
			same = r[i].arg[a].cmp == x->arg[a].cmp &&
			       r[i].arg[a].index == x->arg[a].index &&
			       r[i].arg[a].value == x->arg[a].value;
		if (same)
			return true;
	}
	return false;
}

static size_t add(struct confine_rule *r, size_t n, struct confine_rule x)
{
	if (!has_rule(r, n, &x))
		r[n++] = x;
	return n;
}

static size_t add_calls(struct confine_rule *r, size_t n, const int *nr, size_t count)
{
	for (size_t i = 0; i < count; i++)
		n = add(r, n, (struct confine_rule){ .nr = nr[i] });
	return n;
}

static size_t add_ioctls(struct confine_rule *r, size_t n, const unsigned long *req, size_t count)
{
	for (size_t i = 0; i < count; i++)
		n = add(r, n,
			(struct confine_rule){ __NR_ioctl,
					       { { CONFINE_EQ32, 1, (uint32_t)req[i] } } });
	return n;
}

static size_t add_rules(struct confine_rule *r, size_t n, const struct confine_rule *src,
			size_t count)
{
	for (size_t i = 0; i < count; i++)
		n = add(r, n, src[i]);
	return n;
}

void confine_policy(enum confine_kind kind, struct confine_policy *p)
{
	size_t max = ARRAY_SIZE(control_calls) + ARRAY_SIZE(control_ioctls) +
		     ARRAY_SIZE(control_rules) + ARRAY_SIZE(vcpu_calls) + ARRAY_SIZE(vcpu_ioctls) +
		     ARRAY_SIZE(io_calls) + ARRAY_SIZE(memory_rules);
	struct confine_rule *r = calloc(max, sizeof(*r));
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	if (!r)
		return;
	switch (kind) {
	case CONFINE_CONTROL:
		n = add_calls(r, n, control_calls, ARRAY_SIZE(control_calls));
		n = add_ioctls(r, n, control_ioctls, ARRAY_SIZE(control_ioctls));
		n = add_rules(r, n, control_rules, ARRAY_SIZE(control_rules));
		p->errnos = control_errnos;
		p->nr_errnos = ARRAY_SIZE(control_errnos);
		/*
		 * Filters stack: the vCPU and I/O threads a control thread starts run
		 * under its filter as well as their own, so it allows theirs too.
		 */
		__attribute__((fallthrough));
	case CONFINE_VCPU:
		n = add_calls(r, n, vcpu_calls, ARRAY_SIZE(vcpu_calls));
		n = add_ioctls(r, n, vcpu_ioctls, ARRAY_SIZE(vcpu_ioctls));
		if (kind == CONFINE_VCPU)
			break;
		__attribute__((fallthrough));
	case CONFINE_IO:
	default:
		n = add_calls(r, n, io_calls, ARRAY_SIZE(io_calls));
		break;
	}
	n = add_rules(r, n, memory_rules, ARRAY_SIZE(memory_rules));
	p->rules = r;
	p->nr_rules = n;
}

void confine_policy_release(struct confine_policy *p)
{
	free((void *)p->rules);
	memset(p, 0, sizeof(*p));
}
