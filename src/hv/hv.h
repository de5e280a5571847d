/*
 * hv.h — the hypervisor layer: the only module that issues KVM ioctls or
 * includes <linux/kvm.h>. Above it, everything speaks plain data: guest memory
 * slots, x86_cpu_state, cpuid_entry, x86_msr, and struct hv_exit for what made
 * a vCPU stop.
 */
#ifndef VMON_HV_HV_H
#define VMON_HV_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_state.h"

struct hv;
struct hv_vcpu;
struct hv_vcpu_state; /* hv/hv_state.h */
struct hv_vm_state;

/* What the host offers, for `vmon info` and for the checks at VM creation. */
struct hv_host_info {
	int api_version;
	char vendor[16]; /* "GenuineIntel", "AuthenticAMD" */
	bool vmx, svm; /* CPU flags of the host */
	bool ept, npt, vpid, unrestricted_guest, apicv, nested; /* from the KVM module parameters */
	char module[32]; /* "kvm_intel", "kvm_amd", "kvm_pvm", or "" */
	bool ring0_emulated; /* PVM: guest ring-0 code is emulated */
	int max_vcpus;
	struct hv_cap_state {
		const char *name;
		bool present;
		bool required;
	} caps[24];
	unsigned nr_caps;
};

/*
 * hv_host_info - probe /dev/kvm and the host KVM module without creating a VM.
 * Returns 0, or -errno when /dev/kvm cannot be opened (message in @err).
 */
int hv_host_info(struct hv_host_info *info, char *err, size_t err_len);

/*
 * hv_create - open /dev/kvm, check the API version and every capability vmon
 * relies on (one clear message naming a missing one), and create a VM with the
 * in-kernel irqchip (PIC, IOAPIC, LAPICs) and PIT. Returns 0 or -errno with a
 * one-line reason in @err.
 */
int hv_create(struct hv **out, char *err, size_t err_len);
void hv_destroy(struct hv *hv);

/* hv_has_tsc_deadline - KVM emulates the LAPIC TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER). */
bool hv_has_tsc_deadline(struct hv *hv);

/* hv_set_memory - map [gpa, gpa+len) of guest RAM to @hva in slot @slot. 0 or -errno. */
int hv_set_memory(struct hv *hv, uint32_t slot, uint64_t gpa, uint64_t len, void *hva);

/*
 * hv_set_memory_log - (re-)register slot @slot as hv_set_memory() does, with
 * dirty-page logging on (@log_dirty, KVM_MEM_LOG_DIRTY_PAGES) or off. Turning
 * it on starts a clean log. 0 or -errno.
 */
int hv_set_memory_log(struct hv *hv, uint32_t slot, uint64_t gpa, uint64_t len, void *hva,
		      bool log_dirty);

/*
 * hv_get_dirty_log - the pages of slot @slot written since logging began or
 * since the last call, which resets the log (KVM_GET_DIRTY_LOG): bit i of
 * @bitmap[i / 64] for the 4 KiB page at the slot's start + i * 4096.
 * @bitmap holds (len / 4096 + 63) / 64 words. The slot must log
 * (hv_set_memory_log); -ENOENT otherwise. 0 or -errno.
 */
int hv_get_dirty_log(struct hv *hv, uint32_t slot, uint64_t *bitmap);

/*
 * hv_vm_get_full - the VM-wide state in KVM: the KVM clock, PIC master and
 * slave, IOAPIC, PIT (channels and flags), and a CLOCK_REALTIME stamp. All
 * vCPUs must be stopped (not in KVM_RUN). 0 or -errno.
 */
int hv_vm_get_full(struct hv *hv, struct hv_vm_state *st);

/*
 * hv_vm_set_full - install @st into a VM made by hv_create(). With
 * @clock_realtime the KVM clock is moved on by the wall-clock time elapsed
 * since the get (through KVM_CLOCK_REALTIME where the kernel gave it, else
 * from @st's CLOCK_REALTIME stamp); without, it continues where it stopped.
 * Call it after hv_vcpu_set_full() on every vCPU, just before they run, so
 * the clock moves as late as possible. 0 or -errno with one line in @err.
 */
int hv_vm_set_full(struct hv *hv, const struct hv_vm_state *st, bool clock_realtime, char *err,
		   size_t err_len);

/* hv_irq_line - drive in-kernel irqchip input @gsi to @level. Thread-safe. 0 or -errno. */
int hv_irq_line(struct hv *hv, uint32_t gsi, int level);

/*
 * hv_irqfd - signalling eventfd @fd raises @gsi (edge) in the kernel, with no
 * exit to userspace; @assign false removes the binding. 0 or -errno.
 */
int hv_irqfd(struct hv *hv, int fd, uint32_t gsi, bool assign);

/*
 * hv_ioeventfd - a guest write of @len bytes (1, 2, 4 or 8; 0 = any) to
 * @addr on the PIO (@pio) or MMIO bus signals eventfd @fd inside KVM instead
 * of exiting to userspace; @assign false removes it. 0 or -errno.
 */
int hv_ioeventfd(struct hv *hv, uint64_t addr, uint32_t len, bool pio, int fd, bool assign);

/*
 * hv_ioeventfd_match - hv_ioeventfd() for writes of the value @datamatch only
 * (KVM_IOEVENTFD_FLAG_DATAMATCH): several eventfds may then share one address,
 * as virtio-mmio's QueueNotify, written with the queue's index.
 */
int hv_ioeventfd_match(struct hv *hv, uint64_t addr, uint32_t len, bool pio, uint64_t datamatch,
		       int fd, bool assign);

/*
 * hv_msi_route_add - allocate a GSI routed as an MSI with @addr/@data
 * (updated later with hv_msi_route_set; freed with hv_msi_route_del). The
 * routing table keeps KVM's default irqchip routes for GSI 0-23.
 * Returns the GSI (>= 24) or -errno. Thread-safe.
 */
int hv_msi_route_add(struct hv *hv, uint64_t addr, uint32_t data);
int hv_msi_route_set(struct hv *hv, uint32_t gsi, uint64_t addr, uint32_t data);
int hv_msi_route_del(struct hv *hv, uint32_t gsi);

/* hv_signal_msi - inject one MSI now (KVM_SIGNAL_MSI). 0 or -errno. */
int hv_signal_msi(struct hv *hv, uint64_t addr, uint32_t data);

/*
 * hv_supported_cpuid - KVM's supported CPUID table. *@out is malloc'd (free
 * it); 0 or -errno.
 */
int hv_supported_cpuid(struct hv *hv, struct cpuid_entry **out, unsigned *nr);

/* hv_vcpu_create - vCPU @index (also its APIC ID). 0 or -errno. */
int hv_vcpu_create(struct hv *hv, unsigned index, struct hv_vcpu **out);
void hv_vcpu_destroy(struct hv_vcpu *vcpu);

int hv_vcpu_set_cpuid(struct hv_vcpu *vcpu, const struct cpuid_entry *e, unsigned nr);
int hv_vcpu_set_msrs(struct hv_vcpu *vcpu, const struct x86_msr *msrs, unsigned nr);
/* hv_vcpu_get_msr - one MSR's value as the vCPU has it; 0, -ENOENT (KVM lacks it) or -errno. */
int hv_vcpu_get_msr(struct hv_vcpu *vcpu, uint32_t index, uint64_t *value);

/* hv_vcpu_set_state / get_state - the register file (regs + sregs). 0 or -errno. */
int hv_vcpu_set_state(struct hv_vcpu *vcpu, const struct x86_cpu_state *st);
int hv_vcpu_get_state(struct hv_vcpu *vcpu, struct x86_cpu_state *st);

/*
 * hv_vcpu_init_platform - power-on FPU/SSE control words and LAPIC local
 * vectors (LINT0 = ExtINT, LINT1 = NMI) as a PC BIOS leaves them. 0 or -errno.
 */
int hv_vcpu_init_platform(struct hv_vcpu *vcpu);

/*
 * struct hv_vcpu_debug - what a hang diagnosis needs beyond the registers: the
 * run state, the LAPIC's pending (IRR) and in-service (ISR) vectors, and the
 * interrupt KVM is about to inject. A vector of -1 means none.
 */
struct hv_vcpu_debug {
	const char *mp_state; /* "runnable", "halted", "uninitialized" (waits for SIPI), ... */
	int irr_max, isr_max; /* highest vector requested / in service */
	unsigned irr_count; /* vectors requested */
	uint32_t tpr;
	int inject_vector; /* interrupt queued for injection, -1 if none */
	bool nmi_pending, interrupt_shadow;
};

/* hv_vcpu_get_debug - fill @d for a vCPU that is not in KVM_RUN. 0 or -errno. */
int hv_vcpu_get_debug(struct hv_vcpu *vcpu, struct hv_vcpu_debug *d);

/*
 * hv_vcpu_get_full - everything the guest can observe of @v into @st (which
 * it allocates into; hv_vcpu_state_free): registers, XSAVE (or FPU), XCRs,
 * every readable MSR of KVM_GET_MSR_INDEX_LIST, LAPIC, MP state, events,
 * debug registers, TSC frequency and CPUID. The vCPU must not be in KVM_RUN
 * (paused or not started). After an IO or MMIO exit KVM finishes the
 * instruction only in the next KVM_RUN: re-enter once with immediate_exit set
 * first (a vCPU thread paused by a kick has done so). 0 or -errno (@st freed).
 */
int hv_vcpu_get_full(struct hv_vcpu *v, struct hv_vcpu_state *st);

/*
 * hv_vcpu_get_cpuid - only @st's CPUID: what KVM gives the guest of @vcpu
 * (KVM_GET_CPUID2), which on some hosts is more than KVM_GET_SUPPORTED_CPUID
 * lists. 0 or -errno; free with hv_vcpu_state_free.
 */
int hv_vcpu_get_cpuid(struct hv_vcpu *vcpu, struct hv_vcpu_state *st);

/*
 * hv_vcpu_set_full - install @st into a vCPU fresh from hv_vcpu_create() that
 * has not run, in place of x86_vcpu_setup() (a vCPU that ran keeps its CPUID,
 * which KVM fixes at the first KVM_RUN; the rest is set): CPUID first, then TSC frequency,
 * sregs, regs, XSAVE, XCRs, LAPIC, MSRs (TSC first, kvmclock and TSC deadline
 * after it), events, MP state, debug registers. 0 or -errno with one line in
 * @err naming what KVM refused.
 */
int hv_vcpu_set_full(struct hv_vcpu *v, const struct hv_vcpu_state *st, char *err, size_t err_len);

/* hv_vcpu_translate - guest virtual to physical through the vCPU's page tables. */
int hv_vcpu_translate(struct hv_vcpu *vcpu, uint64_t gva, uint64_t *gpa);

enum hv_exit_reason {
	HV_EXIT_IO,
	HV_EXIT_MMIO,
	HV_EXIT_HLT,
	HV_EXIT_INTR, /* KVM_RUN interrupted by a signal (a kick) */
	HV_EXIT_SHUTDOWN, /* triple fault */
	HV_EXIT_INTERNAL_ERROR, /* includes emulation failures */
	HV_EXIT_FAIL_ENTRY,
	HV_EXIT_SYSTEM_EVENT,
	HV_EXIT_DEBUG,
	HV_EXIT_IRQ_WINDOW_OPEN,
	HV_EXIT_OTHER,
	HV_EXIT__COUNT
};

/* hv_exit_reason_name - "IO", "MMIO", "HLT", ... for tables and reports. */
const char *hv_exit_reason_name(enum hv_exit_reason r);

/*
 * struct hv_exit - why KVM_RUN returned, decoded. For IO, @io.data points into
 * the vCPU's shared run page (size * count bytes, valid until the next run);
 * for MMIO, @mmio.data is that page's 8-byte buffer. A handler fills in the
 * data of a read before the next hv_vcpu_run().
 */
struct hv_exit {
	enum hv_exit_reason reason;
	uint32_t raw_reason; /* KVM_EXIT_* */
	union {
		struct {
			uint16_t port;
			uint8_t size;
			bool is_write;
			uint32_t count;
			uint8_t *data;
		} io;
		struct {
			uint64_t gpa;
			uint32_t len;
			bool is_write;
			uint8_t *data;
		} mmio;
		struct {
			uint32_t suberror;
			bool emulation; /* KVM_INTERNAL_ERROR_EMULATION */
			uint8_t insn_len; /* bytes KVM reported, 0 if none */
			uint8_t insn[15];
			uint32_t ndata;
			uint64_t data[8];
		} internal;
		struct {
			uint64_t hw_reason;
			uint32_t cpu;
		} fail_entry;
		struct {
			uint32_t type; /* HV_SYSTEM_EVENT_* */
		} system_event;
	};
};

enum { HV_SYSTEM_EVENT_SHUTDOWN = 1, HV_SYSTEM_EVENT_RESET = 2, HV_SYSTEM_EVENT_CRASH = 5 };

/*
 * hv_vcpu_run - enter the guest until the next exit. Returns 0 with @exit
 * filled, or -errno for a failed ioctl (-EINTR is reported as HV_EXIT_INTR, not
 * an error). Only the vCPU's own thread may call it.
 */
int hv_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit);

/*
 * hv_vcpu_kick_prepare / hv_vcpu_set_immediate_exit - the race-free kick: set
 * immediate_exit before signalling the vCPU thread, so a signal that lands just
 * before KVM_RUN still makes it return at once. Cleared by the vCPU thread.
 */
void hv_vcpu_set_immediate_exit(struct hv_vcpu *vcpu, bool on);

#endif
