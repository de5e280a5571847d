/*
 * vcpu.c — the vCPU thread.
 *
 * The run loop: each vCPU thread calls KVM_RUN, and every return is an exit
 * that vmon must answer before the guest may go on. The exit is decoded by the
 * hv layer into struct hv_exit, counted (per vCPU, per reason), and handed to
 * the handler for its reason through a dispatch table. Handlers return whether
 * the loop goes on. Between runs the thread checks the VM's lifecycle flags:
 * a pause parks it on the VM's condition variable; an end makes it leave.
 *
 * Leaving KVM_RUN on request ("kick"): the requester changes the VM's flags
 * under its lock, then sets the vCPU's immediate_exit and sends it the kick
 * signal. A signal that arrives while the guest runs makes KVM_RUN return
 * -EINTR; one that arrives just before KVM_RUN is caught by immediate_exit,
 * which makes KVM_RUN return at once. Either way the thread sees the flags.
 */
#include "vm/vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vcpu_x86.h"
#include "confine/seccomp.h"
#include "util/compiler.h"
#include "util/log.h"
#include "vm/exit_status.h"

#define VCPU_KICK_SIGNAL SIGUSR1
#define VCPU_STACK_BYTES (256u << 10)

static void kick_handler(int sig)
{
	(void)sig; /* its only job is to interrupt KVM_RUN */
}

int vcpu_signal_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return -EINTR. */
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct hv *hv, const struct vcpu_env *env, unsigned index, unsigned nr_cpus,
		bool configure, struct vcpu **out, char *err, size_t err_len)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	int ret;

	if (!v) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	v->env = *env;
	v->index = index;
	v->last_exit = -1;
	ret = hv_vcpu_create(hv, index, &v->hv);
	if (ret) {
		snprintf(err, err_len, "cannot create vCPU %u: %s", index, strerror(-ret));
		free(v);
		return ret;
	}
	ret = configure ? x86_vcpu_setup(hv, v->hv, index, nr_cpus, env->cpu_template, err, err_len)
			: 0;
	if (ret) {
		vcpu_destroy(v);
		return ret;
	}
	*out = v;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	hv_vcpu_destroy(v->hv);
	free(v);
}

void vcpu_kick(struct vcpu *v)
{
	hv_vcpu_set_immediate_exit(v->hv, true);
	if (v->started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

/* ---- the report for a guest that died ---- */

static void report_fatal(struct vcpu *v, const struct hv_exit *e, const char *what)
{
	struct x86_cpu_state st;
	uint8_t code[15];
	unsigned code_len = 0;
	char bytes[15 * 3 + 1] = "";
	uint64_t gpa;

	if (hv_vcpu_get_state(v->hv, &st)) {
		log_error("vcpu %u: %s; registers unavailable", v->index, what);
		return;
	}
	if (e && e->reason == HV_EXIT_INTERNAL_ERROR && e->internal.insn_len) {
		code_len = e->internal.insn_len;
		memcpy(code, e->internal.insn, code_len);
	} else {
		uint64_t linear = (st.efer & (1 << 10)) ? st.rip : st.cs.base + st.rip;

		if (!(st.cr0 & 0x80000000u))
			gpa = linear; /* paging off: linear is physical */
		else if (hv_vcpu_translate(v->hv, linear, &gpa))
			gpa = ~0ull;
		/* Read as many bytes as guest RAM holds at RIP, up to 15. */
		for (code_len = 15; code_len > 0; code_len--) {
			if (gpa != ~0ull && gmem_read(v->env.gmem, gpa, code, code_len) == 0)
				break;
		}
	}
	for (unsigned i = 0; i < code_len; i++)
		snprintf(bytes + 3 * i, 4, "%02x ", code[i]);
	log_error("vcpu %u: %s at RIP 0x%" PRIx64, v->index, what, st.rip);
	log_error("  code: %s", code_len ? bytes : "(not in guest RAM)");
	log_error("  rax %016" PRIx64 " rbx %016" PRIx64 " rcx %016" PRIx64 " rdx %016" PRIx64,
		  st.rax, st.rbx, st.rcx, st.rdx);
	log_error("  rsi %016" PRIx64 " rdi %016" PRIx64 " rsp %016" PRIx64 " rbp %016" PRIx64,
		  st.rsi, st.rdi, st.rsp, st.rbp);
	log_error("  rflags %08" PRIx64 " cs %04x (base %" PRIx64 " l%u d%u) ss %04x", st.rflags,
		  st.cs.selector, st.cs.base, st.cs.l, st.cs.db, st.ss.selector);
	log_error("  cr0 %08" PRIx64 " cr2 %016" PRIx64 " cr3 %016" PRIx64 " cr4 %08" PRIx64
		  " efer %" PRIx64,
		  st.cr0, st.cr2, st.cr3, st.cr4, st.efer);
	log_error("  gdt %" PRIx64 "/%x idt %" PRIx64 "/%x", st.gdt.base, st.gdt.limit, st.idt.base,
		  st.idt.limit);
	/* On AMD, KVM puts the vCPU through INIT before it reports the SHUTDOWN intercept. */
	if (e && e->reason == HV_EXIT_SHUTDOWN && st.rip == 0xfff0 && st.cs.selector == 0xf000)
		log_error("  (reset values: KVM on AMD resets the vCPU at a triple fault)");
}

/* ---- exit handlers: return true to keep running ---- */

typedef bool (*exit_handler)(struct vcpu *v, struct hv_exit *e);

static bool handle_io(struct vcpu *v, struct hv_exit *e)
{
	/* A string instruction (rep ins/outs) hands over count elements at once. */
	for (uint32_t i = 0; i < e->io.count; i++) {
		uint8_t *data = e->io.data + (size_t)i * e->io.size;
		bool ok = e->io.is_write ? bus_write(v->env.pio, e->io.port, data, e->io.size)
					 : bus_read(v->env.pio, e->io.port, data, e->io.size);

		if (!ok)
			__atomic_add_fetch(&v->io_unhandled, 1, __ATOMIC_RELAXED);
	}
	return true;
}

static bool handle_mmio(struct vcpu *v, struct hv_exit *e)
{
	bool ok = e->mmio.is_write ? bus_write(v->env.mmio, e->mmio.gpa, e->mmio.data, e->mmio.len)
				   : bus_read(v->env.mmio, e->mmio.gpa, e->mmio.data, e->mmio.len);

	if (!ok)
		__atomic_add_fetch(&v->mmio_unhandled, 1, __ATOMIC_RELAXED);
	return true;
}

static bool handle_continue(struct vcpu *v, struct hv_exit *e)
{
	(void)v, (void)e;
	return true;
}

static bool handle_hlt(struct vcpu *v, struct hv_exit *e)
{
	/*
	 * With the in-kernel LAPIC, KVM handles HLT itself; an HLT exit means
	 * the vCPU halted with interrupts that can never arrive.
	 */
	(void)e;
	log_warn("vcpu %u: halted for good (HLT exit)", v->index);
	return true;
}

static bool handle_shutdown(struct vcpu *v, struct hv_exit *e)
{
	report_fatal(v, e, "triple fault (KVM_EXIT_SHUTDOWN)");
	runctl_end(v->env.rc, VMON_EXIT_GUEST_CRASH, "triple fault", false);
	return false;
}

static bool handle_internal(struct vcpu *v, struct hv_exit *e)
{
	char what[160];
	int n;

	if (e->internal.emulation)
		n = snprintf(what, sizeof(what),
			     "emulation failure (KVM_EXIT_INTERNAL_ERROR, suberror %u)",
			     e->internal.suberror);
	else
		n = snprintf(what, sizeof(what), "KVM internal error (suberror %u)",
			     e->internal.suberror);
	for (uint32_t i = 0; i < e->internal.ndata && n < (int)sizeof(what) - 20; i++)
		n += snprintf(what + n, sizeof(what) - n, "%s%" PRIx64, i ? " " : ", data ",
			      e->internal.data[i]);
	report_fatal(v, e, what);
	runctl_end(v->env.rc, VMON_EXIT_GUEST_CRASH, "KVM internal error", false);
	return false;
}

static bool handle_fail_entry(struct vcpu *v, struct hv_exit *e)
{
	char what[96];

	snprintf(what, sizeof(what), "VM entry failed (hardware reason 0x%" PRIx64 ")",
		 e->fail_entry.hw_reason);
	report_fatal(v, e, what);
	runctl_end(v->env.rc, VMON_EXIT_GUEST_CRASH, "entry failure", false);
	return false;
}

static bool handle_system_event(struct vcpu *v, struct hv_exit *e)
{
	switch (e->system_event.type) {
	case HV_SYSTEM_EVENT_SHUTDOWN:
		runctl_end(v->env.rc, VMON_EXIT_OK, "guest shutdown", false);
		return false;
	case HV_SYSTEM_EVENT_RESET:
		runctl_end(v->env.rc, VMON_EXIT_OK, "guest reset", false);
		return false;
	default:
		report_fatal(v, e, "guest crash (KVM_EXIT_SYSTEM_EVENT)");
		runctl_end(v->env.rc, VMON_EXIT_GUEST_CRASH, "guest crash", false);
		return false;
	}
}

static bool handle_other(struct vcpu *v, struct hv_exit *e)
{
	char what[64];

	snprintf(what, sizeof(what), "unexpected KVM exit %u", e->raw_reason);
	report_fatal(v, e, what);
	runctl_end(v->env.rc, VMON_EXIT_GUEST_CRASH, "unexpected exit", false);
	return false;
}

static const exit_handler exit_handlers[HV_EXIT__COUNT] = {
	[HV_EXIT_IO] = handle_io,
	[HV_EXIT_MMIO] = handle_mmio,
	[HV_EXIT_HLT] = handle_hlt,
	[HV_EXIT_INTR] = handle_continue,
	[HV_EXIT_SHUTDOWN] = handle_shutdown,
	[HV_EXIT_INTERNAL_ERROR] = handle_internal,
	[HV_EXIT_FAIL_ENTRY] = handle_fail_entry,
	[HV_EXIT_SYSTEM_EVENT] = handle_system_event,
	[HV_EXIT_DEBUG] = handle_continue,
	[HV_EXIT_IRQ_WINDOW_OPEN] = handle_continue,
	[HV_EXIT_OTHER] = handle_other,
};

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct hv_exit e = { .reason = HV_EXIT_INTR };
	char name[16];
	int cret;

	snprintf(name, sizeof(name), v->env.firecracker_names ? "fc_vcpu %u" : "vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	/* Confined before its first KVM_RUN: the guest never runs on an unfiltered thread. */
	cret = confine_thread(CONFINE_VCPU, name);
	if (cret) {
		log_error("vcpu %u: cannot install its seccomp filter: %s", v->index,
			  strerror(-cret));
		runctl_end(v->env.rc, VMON_EXIT_HOST, "seccomp failed", false);
		runctl_thread_exit(v->env.rc);
		return NULL;
	}
	for (;;) {
		int ret;
		/*
		 * KVM finishes a port or MMIO exit (a read's value into the
		 * register, RIP past the instruction) only at the next KVM_RUN.
		 * Before parking, enter once with immediate_exit: KVM completes
		 * the exit and returns at once, so a parked vCPU's state is
		 * whole and a snapshot taken now does not replay the instruction.
		 */
		bool finish = e.reason != HV_EXIT_INTR && runctl_attention(v->env.rc);

		if (!finish) {
			/* Clear before checking the flags: a kick after this point is seen (see
			 * top). */
			if (e.reason == HV_EXIT_INTR)
				hv_vcpu_set_immediate_exit(v->hv, false);
			if (!runctl_check(v->env.rc, &v->parked))
				break;
		} else {
			hv_vcpu_set_immediate_exit(v->hv, true);
		}
		ret = hv_vcpu_run(v->hv, &e);
		if (ret) {
			log_error("vcpu %u: KVM_RUN failed: %s", v->index, strerror(-ret));
			runctl_end(v->env.rc, VMON_EXIT_HOST, "KVM_RUN failed", false);
			break;
		}
		__atomic_add_fetch(&v->exits[e.reason], 1, __ATOMIC_RELAXED);
		__atomic_store_n(&v->last_exit, (int)e.reason, __ATOMIC_RELAXED);
		if (!exit_handlers[e.reason](v, &e))
			break;
	}
	runctl_thread_exit(v->env.rc);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int ret;

	/* The thread starts with every signal blocked but the kick (and SIGSYS, for its filter). */
	sigfillset(&all);
	sigdelset(&all, VCPU_KICK_SIGNAL);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/*
	 * A small stack: the run loop needs little, and an 8 MiB default stack
	 * could be backed by a 2 MiB transparent huge page on first touch.
	 */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VCPU_STACK_BYTES);
	runctl_thread_enter(v->env.rc);
	ret = -pthread_create(&v->thread, &attr, vcpu_thread, v);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		runctl_thread_exit(v->env.rc);
	else
		v->started = true;
	return ret;
}
