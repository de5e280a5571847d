/* triple_fault.c — KVM-tier test guest: loads an IDT with limit 0 and executes UD2.  #UD cannot be
 * delivered
 * (#GP), nor can #GP (#DF), nor #DF: the CPU shuts down (triple fault).  The monitor must report it
 * and fail. */
#include "../lib/rt.h"

int guest_main(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty_idt = { 0, 0 };

	rt_printf("triple-fault-test: loading an empty IDT and executing ud2\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
	rt_printf("triple-fault-test: still running after the fault: FAIL\n");
	return RT_EXIT_FAIL;
}
