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

#include "vm/vcpu.h"
#include "vm/vm.h"

#define DUMP_PARK_TIMEOUT_MS 1000

static void dump_one(struct vm *vm, struct vcpu *v, FILE *f)
{
	struct x86_cpu_state st;
	struct hv_vcpu_debug d;
	int last = __atomic_load_n(&v->last_exit, __ATOMIC_RELAXED);
	const char *last_name = last < 0 ? "none" : hv_exit_reason_name((enum hv_exit_reason)last);

	if (!runctl_is_parked(&vm->rc, &v->parked)) {
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
	enum runctl_state st = runctl_state(&vm->rc);
	int ret;

	if (st != RUNCTL_RUNNING && st != RUNCTL_PAUSED) {
		fprintf(f, "vmon: vCPU dump: the VM is not running\n");
		return;
	}
	ret = runctl_hold(&vm->rc, DUMP_PARK_TIMEOUT_MS);
	if (ret == -EINVAL) {
		fprintf(f, "vmon: vCPU dump: the VM is not running\n");
		return;
	}
	fprintf(f, "vmon: vCPU dump (%u of %u stopped)\n", runctl_parked(&vm->rc), vm->nr_vcpus);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		dump_one(vm, vm->vcpus[i], f);
	runctl_release(&vm->rc);
	fflush(f);
}
