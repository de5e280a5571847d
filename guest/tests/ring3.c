/* ring3.c — KVM-tier test guest: enters CPL 3 (IRETQ, or SYSRETQ with "ring3=sysret"), reads CS
 * there, returns with SYSCALL and checks that the CPU is back at CPL 0 and the user function's
 * result came through. */
#include "../lib/rt.h"

static long user_fn(long arg)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return arg * 1000 + cs;
}

static uint16_t read_cs(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs;
}

int guest_main(void)
{
	rt_printf("ring3-test: entering CPL 3 with %s from CS 0x%x\n",
		  rt_user_entry_mode ? "SYSRETQ" : "IRETQ", read_cs());
	long r = rt_user_run(&rt_cpus[0], user_fn, 7);
	uint16_t cs = read_cs();
	rt_printf("ring3-test: user code ran with CS 0x%lx, back with CS 0x%x\n", r - 7000, cs);
	bool ok = r == 7000 + RT_SEL_UCODE && (cs & 3) == 0;
	rt_printf("ring3-test: %s\n", ok ? "PASS" : "FAIL");
	return ok ? RT_EXIT_PASS : RT_EXIT_FAIL;
}
