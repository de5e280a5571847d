/*
 * seccomp.h — vmon confines itself: each kind of thread runs under a seccomp
 * filter that allows only the system calls (and, where it matters, the
 * arguments: ioctl numbers, mmap/mprotect protections, socket families, clone
 * flags) that kind needs. The lists are in seccomp_policy.c, one readable file.
 *
 * A forbidden call ends vmon at once: the kernel raises SIGSYS, and vmon
 * writes one line naming the thread and the call ("vmon: seccomp: thread
 * 'vcpu0' made a forbidden system call: openat (257)") and exits with status
 * 148 (Firecracker's). Filters stack: a thread keeps what its creator had, so
 * a vCPU thread started by a confined control thread runs under both.
 *
 * The test hook: with VMON_TEST_SECCOMP_VIOLATION=control|vcpu|io in the
 * environment, the first thread of that kind makes a call outside its filter
 * right after confining itself (the KVM tier checks the report and status).
 *
 * When each kind is confined (all before the guest's first instruction):
 *  - control (the event loop, which also serves the API and metrics, and a
 *    migration receiver): when the VM's vCPUs are about to start
 *    (vm_start_vcpus), on the event-loop thread and on the thread starting
 *    them when that is another; before that, while the VM is configured and
 *    built, they run unconfined, as Firecracker's VMM thread does pre-boot;
 *  - vcpu: each vCPU thread as it starts, before its first KVM_RUN;
 *  - io: each block worker thread as it starts.
 */
#ifndef VMON_CONFINE_SECCOMP_H
#define VMON_CONFINE_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum confine_kind {
	CONFINE_CONTROL,
	CONFINE_VCPU,
	CONFINE_IO,
	CONFINE_NR_KINDS,
};

#define CONFINE_EXIT_BAD_SYSCALL 148

/*
 * confine_setup - once, at start, before any thread: with @enabled, build
 * every kind's filter (installed later by confine_thread) and the SIGSYS
 * report; without, confine_thread does nothing. Returns 0 or -errno with one
 * line in @err.
 */
int confine_setup(bool enabled, char *err, size_t err_len);

/* confine_enabled - whether confine_setup turned the filters on. */
bool confine_enabled(void);

/*
 * confine_thread - put the calling thread under @kind's filter (once per
 * kind and thread; again is a no-op), naming it @name (at most 15 characters)
 * in a report. SIGSYS must not be blocked on the thread. Does nothing when
 * confinement is off. Returns 0 or -errno.
 */
int confine_thread(enum confine_kind kind, const char *name);

/*
 * confine_set_fault_sink - the fd (PUT /metrics's sink; -1: none) where a
 * forbidden call, before it ends vmon, writes one metrics line counting it:
 * {"utc_timestamp_ms":T,"seccomp":{"num_faults":1}}, as Firecracker counts
 * seccomp.num_faults. Any thread.
 */
void confine_set_fault_sink(int fd);

/* confine_filter_length - @kind's filter in BPF instructions (0 before confine_setup). */
unsigned confine_filter_length(enum confine_kind kind);

/* confine_kind_name - "control", "vcpu", "io". */
const char *confine_kind_name(enum confine_kind kind);

/*
 * A policy: the system calls one kind may make. Built by seccomp_policy.c,
 * turned into a filter by seccomp.c. Each rule allows @nr when every one of
 * its (at most two) argument tests holds; a syscall may have several rules.
 */
enum confine_cmp {
	CONFINE_ANY, /* no test */
	CONFINE_EQ, /* arg == value */
	CONFINE_MASK_CLEAR, /* (arg & value) == 0 */
	CONFINE_MASK_SET, /* (arg & value) == value */
	CONFINE_EQ32, /* (arg & 0xffffffff) == value: ioctl numbers, flags of int type */
};

struct confine_arg {
	enum confine_cmp cmp;
	unsigned index;
	uint64_t value;
};

struct confine_rule {
	int nr;
	struct confine_arg arg[2];
};

/* A call answered with an errno instead of a kill (e.g. clone3, for glibc to fall back to clone).
 */
struct confine_errno_rule {
	int nr;
	int err;
};

struct confine_policy {
	const struct confine_rule *rules;
	size_t nr_rules;
	const struct confine_errno_rule *errnos;
	size_t nr_errnos;
};

/* confine_policy - the policy of @kind (seccomp_policy.c). */
void confine_policy(enum confine_kind kind, struct confine_policy *p);

/*
 * confine_policy_release - free what confine_policy allocated for @p.
 */
void confine_policy_release(struct confine_policy *p);

#endif
