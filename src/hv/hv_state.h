/*
 * hv_state.h — the complete state of one vCPU and of the VM's in-kernel
 * devices (KVM clock, PICs, IOAPIC, PIT) as plain data, for snapshots and live
 * migration, and its section format. hv_vcpu_get_full()/hv_vm_get_full() in
 * hv.h fill these structs; hv_state.c saves and loads them field by field.
 * No KVM types: the hv backend converts (kvm_state.c).
 */
#ifndef VMON_HV_HV_STATE_H
#define VMON_HV_HV_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu_state.h"
#include "base/state.h"

#define HV_VCPU_STATE_VERSION 1
#define HV_VM_STATE_VERSION 1

#define HV_VCPU_STATE_TAG "vcpu"
#define HV_VM_STATE_TAG "kvm_vm"

/* Limits a loaded section is checked against. */
#define HV_STATE_MAX_MSRS 512
#define HV_STATE_MAX_CPUID 256 /* KVM_MAX_CPUID_ENTRIES */
#define HV_STATE_MAX_XCRS 16 /* KVM_MAX_XCRS */
#define HV_STATE_LAPIC_BYTES 1024 /* KVM_APIC_REG_SIZE: the LAPIC register page */
#define HV_STATE_XSAVE_MIN_BYTES 4096 /* sizeof(struct kvm_xsave) */
#define HV_STATE_XSAVE_MAX_BYTES (64u * 1024) /* AMX needs ~11 KiB; leaves room */
#define HV_STATE_MAX_MP_STATE 10 /* KVM_MP_STATE_SUSPENDED */
#define HV_STATE_IOAPIC_PINS 24 /* KVM_IOAPIC_NUM_PINS */

/* Flags of struct hv_vcpu_events (== KVM_VCPUEVENT_VALID_*). */
#define HV_EVENTS_VALID_NMI_PENDING 0x01u
#define HV_EVENTS_VALID_SIPI_VECTOR 0x02u
#define HV_EVENTS_VALID_SHADOW 0x04u
#define HV_EVENTS_VALID_SMM 0x08u
#define HV_EVENTS_VALID_PAYLOAD 0x10u
#define HV_EVENTS_VALID_TRIPLE_FAULT 0x20u
#define HV_EVENTS_VALID_MASK 0x3fu

/* Flags of struct hv_clock (== KVM_CLOCK_*). */
#define HV_CLOCK_TSC_STABLE 0x02u
#define HV_CLOCK_REALTIME 0x04u
#define HV_CLOCK_HOST_TSC 0x08u
#define HV_CLOCK_FLAGS_MASK 0x0eu

/* struct hv_fpu - the legacy FPU/SSE state (kvm_fpu), used only when the host has no XSAVE. */
struct hv_fpu {
	uint8_t fpr[8][16];
	uint16_t fcw, fsw;
	uint8_t ftwx; /* abridged tag word, as FXSAVE stores it */
	uint16_t last_opcode;
	uint64_t last_ip, last_dp;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
};

/* struct hv_xcr - one extended control register (XCR0 is index 0). */
struct hv_xcr {
	uint32_t index;
	uint64_t value;
};

/*
 * struct hv_vcpu_events - pending and injected events (kvm_vcpu_events). The
 * fields a flag validates (nmi.pending, sipi_vector, interrupt.shadow, smi,
 * triple_fault_pending, exception payload) mean something only with it set.
 */
struct hv_vcpu_events {
	struct {
		uint8_t injected, nr, has_error_code, pending;
		uint32_t error_code;
	} exception;
	struct {
		uint8_t injected, nr, soft, shadow;
	} interrupt;
	struct {
		uint8_t injected, pending, masked;
	} nmi;
	uint32_t sipi_vector;
	uint32_t flags; /* HV_EVENTS_VALID_* */
	struct {
		uint8_t smm, pending, smm_inside_nmi, latched_init;
	} smi;
	uint8_t triple_fault_pending;
	uint8_t exception_has_payload;
	uint64_t exception_payload;
};

/* struct hv_debugregs - DR0-3, DR6, DR7 (kvm_debugregs). */
struct hv_debugregs {
	uint64_t db[4];
	uint64_t dr6, dr7;
	uint64_t flags;
};

/*
 * struct hv_vcpu_state - everything a guest can observe of one vCPU.
 * @xsave, @msrs and @cpuid are malloc'd (hv_vcpu_state_free). Segment
 * attributes of @cpu are complete but for kvm_segment.unusable, which is in
 * @seg_unusable (cs, ds, es, fs, gs, ss, tr, ldt).
 */
struct hv_vcpu_state {
	struct x86_cpu_state cpu; /* GPRs, rip, rflags, segments, GDT/IDT, CR0/2/3/4, EFER */
	uint8_t seg_unusable[8];
	uint64_t cr8;
	uint64_t apic_base;
	uint64_t interrupt_bitmap[4]; /* 256 bits: an interrupt being injected (kvm_sregs) */

	uint32_t xsave_len; /* bytes at @xsave; 0: the host has no XSAVE and @fpu holds the state */
	uint8_t *xsave; /* the XSAVE area in its architectural (non-compacted) format */
	struct hv_fpu fpu;

	uint32_t nr_xcrs;
	struct hv_xcr xcrs[HV_STATE_MAX_XCRS];

	uint32_t nr_msrs;
	struct x86_msr *msrs; /* every readable MSR of KVM_GET_MSR_INDEX_LIST */

	uint8_t lapic[HV_STATE_LAPIC_BYTES];
	uint32_t mp_state; /* KVM_MP_STATE_* */
	struct hv_vcpu_events events;
	struct hv_debugregs debugregs;
	uint32_t tsc_khz;

	uint32_t nr_cpuid;
	struct cpuid_entry *cpuid; /* the CPUID the guest was given */
};

/* struct hv_pic - one 8259A (kvm_pic_state). */
struct hv_pic {
	uint8_t last_irr, irr, imr, isr, priority_add, irq_base, read_reg_select, poll;
	uint8_t special_mask, init_state, auto_eoi, rotate_on_auto_eoi, special_fully_nested_mode;
	uint8_t init4, elcr, elcr_mask;
};

/* struct hv_ioapic - the IOAPIC (kvm_ioapic_state); @redir are the 64-bit redirection entries. */
struct hv_ioapic {
	uint64_t base_address;
	uint32_t ioregsel, id, irr;
	uint64_t redir[HV_STATE_IOAPIC_PINS];
};

/* struct hv_pit_channel - one 8254 channel (kvm_pit_channel_state). */
struct hv_pit_channel {
	uint32_t count; /* up to 65536 */
	uint16_t latched_count;
	uint8_t count_latched, status_latched, status, read_state, write_state, write_latch;
	uint8_t rw_mode, mode, bcd, gate;
	int64_t count_load_time; /* host ktime (ns) at the last load */
};

/* struct hv_clock - the KVM clock (kvm_clock_data). */
struct hv_clock {
	uint64_t clock_ns;
	uint32_t flags; /* HV_CLOCK_* */
	uint64_t realtime_ns; /* valid with HV_CLOCK_REALTIME */
	uint64_t host_tsc; /* valid with HV_CLOCK_HOST_TSC */
};

/* struct hv_vm_state - the VM-wide state KVM keeps: clock, PICs, IOAPIC, PIT. */
struct hv_vm_state {
	struct hv_clock clock;
	uint64_t realtime_ns; /* CLOCK_REALTIME when the state was taken */
	struct hv_pic pic[2]; /* master, slave */
	struct hv_ioapic ioapic;
	struct hv_pit_channel pit[3];
	uint32_t pit_flags; /* KVM_PIT_FLAGS_* */
};

/* hv_vcpu_state_free - free @st's inner allocations and zero it; safe on a zeroed struct. */
void hv_vcpu_state_free(struct hv_vcpu_state *st);

/*
 * hv_vcpu_state_save - append one section (tag "vcpu", instance @index,
 * version HV_VCPU_STATE_VERSION) holding @st, every field little-endian.
 * Errors are sticky in @w (state_writer_error).
 */
void hv_vcpu_state_save(const struct hv_vcpu_state *st, uint32_t index, struct state_writer *w);

/*
 * hv_vcpu_state_load - parse a "vcpu" section payload of @version into @st,
 * which it allocates into (free with hv_vcpu_state_free). Returns 0, or
 * -EINVAL (with @st freed and zeroed) when the payload is short, long, of an
 * unknown version or inconsistent (counts above their maxima, an XSAVE size
 * that is not a multiple of 4 in [4096, 64 KiB], out-of-range flags); -ENOMEM.
 */
int hv_vcpu_state_load(struct state_reader *payload, uint32_t version, struct hv_vcpu_state *st);

/* hv_vm_state_save - append the section "kvm_vm", instance 0, version HV_VM_STATE_VERSION. */
void hv_vm_state_save(const struct hv_vm_state *st, struct state_writer *w);

/*
 * hv_vm_state_load - parse a "kvm_vm" section payload of @version into @st.
 * Returns 0 or -EINVAL (short, long, unknown version, a field out of range:
 * PIT mode above 5, rw/read/write states, counts above 65536, PIC or IOAPIC
 * register values no device could hold). @st is zeroed on failure.
 */
int hv_vm_state_load(struct state_reader *payload, uint32_t version, struct hv_vm_state *st);

#endif
