/* poweroff.c — KVM-tier test guest: finds the FADT and \_S5 and powers off through ACPI; the
 * monitor must exit 0. If the power-off write does not stop the VM, the runtime exits with
 * RT_EXIT_POWEROFF_FAILED. */
#include "../lib/rt.h"

int guest_main(void)
{
	if (rt_acpi_init()) {
		rt_printf("poweroff-test: no ACPI tables: FAIL\n");
		return RT_EXIT_FAIL;
	}
	rt_printf("poweroff-test: FADT rev %u, %s, S5 SLP_TYP %u%s\n", rt_acpi.fadt_rev,
		  rt_acpi.hw_reduced ? "hardware-reduced" : "fixed hardware", rt_acpi.s5_typ_a,
		  rt_acpi.have_s5 ? "" : " (no \\_S5 found, using 0)");
	if (rt_acpi.hw_reduced)
		rt_printf("poweroff-test: writing SLEEP_CONTROL_REG (%s 0x%lx)\n",
			  rt_acpi.sleep_ctl.space == 1 ? "I/O" : "MMIO", rt_acpi.sleep_ctl.address);
	else
		rt_printf("poweroff-test: writing PM1a_CNT (I/O 0x%x)\n", rt_acpi.pm1a_cnt);
	rt_acpi_poweroff();
}
