/* emulation_failure.c — KVM-tier test guest: jumps to 0xd0000000, an address in the MMIO hole that
 * no memory backs.  KVM cannot fetch an instruction from MMIO (on VT-x, AMD-V and PVM alike) and
 * stops with an internal emulation error; the monitor must report it and fail. */
#include "../lib/rt.h"

int guest_main(void)
{
	rt_printf("emulation-failure-test: jumping to unbacked MMIO at 0xd0000000\n");
	__asm__ volatile("jmp *%0" : : "r"(0xd0000000ul));
	return RT_EXIT_FAIL;
}
