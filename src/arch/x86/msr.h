/*
 * msr.h — the MSRs vmon sets on every vCPU at boot, as plain data (hv/ turns
 * the list into KVM_SET_MSRS). Indices from the Intel SDM vol. 4; the kernel's
 * msr-index.h is not a uapi header, so they are spelled out here.
 */
#ifndef VMON_ARCH_X86_MSR_H
#define VMON_ARCH_X86_MSR_H

#include "arch/x86/cpu_state.h"

#define MSR_IA32_TSC 0x00000010u
#define MSR_IA32_SYSENTER_CS 0x00000174u
#define MSR_IA32_SYSENTER_ESP 0x00000175u
#define MSR_IA32_SYSENTER_EIP 0x00000176u
#define MSR_IA32_MISC_ENABLE 0x000001A0u
#define MSR_MTRR_DEF_TYPE 0x000002FFu
#define MSR_STAR 0xC0000081u
#define MSR_LSTAR 0xC0000082u
#define MSR_CSTAR 0xC0000083u
#define MSR_SYSCALL_MASK 0xC0000084u
#define MSR_KERNEL_GS_BASE 0xC0000102u

#define MSR_MISC_ENABLE_FAST_STRING (1ull << 0)
#define MSR_MTRR_DEF_TYPE_E (1ull << 11) /* MTRRs enabled */
#define MSR_MTRR_TYPE_WB 6ull

#define MSR_BOOT_NR 11

/*
 * msr_boot_list - the boot MSRs with their values: SYSENTER_CS/ESP/EIP,
 * STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE = 0, TSC = 0, MISC_ENABLE =
 * fast strings, MTRR default type = WB | enabled. Writes MSR_BOOT_NR entries
 * to @out (room for @max), returns that count or -E2BIG.
 */
int msr_boot_list(struct x86_msr *out, unsigned max);

#endif
