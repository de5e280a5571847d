/* busy.c — KVM-tier test guest: the VM must end promptly while other vCPUs are busy in ring 3 (the
 * monitor has to kick them out of KVM_RUN).  Default: every AP spins forever at CPL 3 and the boot
 * CPU powers off via ACPI (expect status 0).  With "busy=ap-exit" on the command line the boot CPU
 * spins at CPL 3 and the last AP writes the debug-exit pass value (expect status 33). With
 * "busy=hang" every CPU spins at CPL 3 until the monitor is stopped (a guest that hangs, for vmon's
 * vCPU dump). */
#include "../lib/rt.h"

static volatile unsigned int aps_spinning;

static long spin(long arg)
{
	volatile long x = arg;
	for (;;)
		x++;
	return x;
}

static long ap_spin(struct rt_cpu *cpu)
{
	__atomic_add_fetch(&aps_spinning, 1, __ATOMIC_SEQ_CST);
	return rt_user_run(cpu, spin, 0);
}

static long ap_exit_last(struct rt_cpu *cpu)
{
	if (cpu->index + 1 != rt_acpi.n_cpus)
		return 0;
	rt_delay_us(100000); /* let the boot CPU get into ring 3 */
	rt_printf("busy-test: cpu%u writes the debug-exit pass value while cpu0 spins in ring 3\n",
		  cpu->index);
	rt_exit(RT_EXIT_PASS);
}

int guest_main(void)
{
	bool ap_exit = rt_cmdline_has("busy=ap-exit");
	bool hang = rt_cmdline_has("busy=hang");

	if (rt_acpi_init() || rt_acpi.n_cpus < 2) {
		rt_printf("busy-test: needs ACPI and at least 2 CPUs: FAIL\n");
		return RT_EXIT_FAIL;
	}
	unsigned int online = rt_smp_start(ap_exit ? ap_exit_last : ap_spin);
	if (online != rt_acpi.n_cpus) {
		rt_printf("busy-test: only %u of %u CPUs started: FAIL\n", online, rt_acpi.n_cpus);
		return RT_EXIT_FAIL;
	}
	if (ap_exit) {
		rt_printf("busy-test: %u CPUs online; cpu0 spins in ring 3\n", online);
		rt_user_run(&rt_cpus[0], spin, 0);
		return RT_EXIT_FAIL;
	}
	uint64_t end = rt_now_us() + 1000000;
	while (aps_spinning + 1 < online && rt_now_us() < end)
		rt_delay_us(1000);
	if (hang) {
		rt_printf("busy-test: %u CPUs online, %u APs spinning in ring 3; cpu0 joins them "
			  "for good\n",
			  online, aps_spinning);
		rt_user_run(&rt_cpus[0], spin, 0);
		return RT_EXIT_FAIL;
	}
	rt_printf("busy-test: %u CPUs online, %u APs spinning in ring 3; powering off\n", online,
		  aps_spinning);
	rt_acpi_poweroff();
}
