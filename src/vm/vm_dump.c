/*
 * vm_dump.c — the state of every vCPU, for diagnosing a guest that hangs
 * (SIGUSR2; kvmtool's `lkvm debug --dump` and QEMU's `info registers -a`
 * answer the same question).
 *
 * The vCPUs are paused for the dump, so that their registers can be read. A
 * vCPU that does not park within a second is stuck in vmon itself (in an exit
 * handler) or in a KVM_RUN that ignores signals; the dump names it and its
 * latest exit, which tells the two apart. The VM runs on afterwards.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "vm/vcpu.h"
#include "vm/vm.h"

#define DUMP_PARK_TIMEOUT_MS 1000

static void dump_one(struct vcpu *v, FILE *f)
{
	struct x86_cpu_state st;
	struct hv_vcpu_debug d;
	int last = __atomic_load_n(&v->last_exit, __ATOMIC_RELAXED);
	const char *last_name = last < 0 ? "none" : hv_exit_reason_name((enum hv_exit_reason)last);

	if (!v->parked) {
		fprintf(f, "  vcpu %u: still busy after %d ms (in vmon or KVM), latest exit %s\n",
			v->index, DUMP_PARK_TIMEOUT_MS, last_name);
		return;
	}
	if (hv_vcpu_get_state(v->hv, &st) || hv_vcpu_get_debug(v->hv, &d)) {
		fprintf(f, "  vcpu %u: state unavailable\n", v->index);
		return;
	}
	fprintf(f,
		"  vcpu %u: %s, RIP %04x:%016" PRIx64 " RSP %016" PRIx64 " RFLAGS %08" PRIx64
		" (IF=%u) CR3 %" PRIx64 ", latest exit %s\n",
		v->index, d.mp_state, st.cs.selector, st.rip, st.rsp, st.rflags,
		(unsigned)(st.rflags >> 9) & 1, st.cr3, last_name);
	fprintf(f, "    lapic: tpr %02x, irr %d (%u pending), isr %d; inject %d%s%s\n", d.tpr,
		d.irr_max, d.irr_count, d.isr_max, d.inject_vector, d.nmi_pending ? ", nmi" : "",
		d.interrupt_shadow ? ", interrupt shadow" : "");
	fprintf(f,
		"    rax %016" PRIx64 " rbx %016" PRIx64 " rcx %016" PRIx64 " rdx %016" PRIx64 "\n",
		st.rax, st.rbx, st.rcx, st.rdx);
	fprintf(f,
		"    rsi %016" PRIx64 " rdi %016" PRIx64 " rbp %016" PRIx64 " cr2 %016" PRIx64 "\n",
		st.rsi, st.rdi, st.rbp, st.cr2);
}

void vm_dump_vcpus(struct vm *vm, FILE *f)
{
	struct timespec until;
	bool paused_here = false;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DUMP_PARK_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_RUNNING && vm->state != VM_PAUSED) {
		pthread_mutex_unlock(&vm->lock);
		fprintf(f, "vmon: vCPU dump: the VM is not running\n");
		return;
	}
	if (!vm->pause_requested) {
		/* Another pause in progress (the API's) is left to finish on its own. */
		vm->pause_requested = true;
		__atomic_store_n(&vm->attention, 1, __ATOMIC_RELEASE);
		paused_here = true;
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu_kick(vm->vcpus[i]);
	}
	while (vm->parked < vm->running_threads && !vm->ended) {
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &until) == ETIMEDOUT)
			break;
	}
	fprintf(f, "vmon: vCPU dump (%u of %u stopped)\n", vm->parked, vm->nr_vcpus);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		dump_one(vm->vcpus[i], f);
	if (paused_here) {
		vm->pause_requested = false;
		if (!vm->ended)
			__atomic_store_n(&vm->attention, 0, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	fflush(f);
}
