/*
 * cpu_state.h — the architectural state a boot loader hands to a vCPU, as
 * plain data (no KVM types): the hv layer converts it to kvm_regs/kvm_sregs.
 */
#ifndef VMON_ARCH_X86_CPU_STATE_H
#define VMON_ARCH_X86_CPU_STATE_H

#include <stdint.h>

struct x86_segment {
	uint64_t base;
	uint32_t limit; /* byte granular limit as KVM wants it (0xffffffff for flat 4G) */
	uint16_t selector;
	uint8_t type; /* 4-bit descriptor type */
	uint8_t present, dpl, db, s, l, g, avl;
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

/* struct x86_cpu_state - register file at the first instruction of a guest. */
struct x86_cpu_state {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct x86_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, efer;
};

/* struct x86_msr - one MSR to set at boot. */
struct x86_msr {
	uint32_t index;
	uint64_t value;
};

/* struct cpuid_entry - one CPUID leaf/subleaf (mirrors kvm_cpuid_entry2). */
struct cpuid_entry {
	uint32_t function;
	uint32_t index;
	uint32_t flags; /* CPUID_FLAG_SIGNIFICANT_INDEX when @index matters */
	uint32_t eax, ebx, ecx, edx;
};

#define CPUID_FLAG_SIGNIFICANT_INDEX 1u /* == KVM_CPUID_FLAG_SIGNIFICANT_INDEX */

#endif
