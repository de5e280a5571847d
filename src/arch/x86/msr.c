/* msr.c — MSR values every vCPU starts with. */
#include <errno.h>

#include "arch/x86/msr.h"

int msr_boot_list(struct x86_msr *out, unsigned max)
{
	static const struct x86_msr boot[MSR_BOOT_NR] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MSR_MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MSR_MTRR_DEF_TYPE_E | MSR_MTRR_TYPE_WB },
	};

	if (max < MSR_BOOT_NR)
		return -E2BIG;
	for (unsigned i = 0; i < MSR_BOOT_NR; i++)
		out[i] = boot[i];
	return MSR_BOOT_NR;
}
