/* reset.c — KVM-tier test guest: resets the machine through the FADT's RESET_REG (vmon: I/O 0xCF9
 * value 0x06). vmon (default --reboot exit) and QEMU (-no-reboot) then end with status 0.  A boot
 * counter in the command line is not needed: if the reset write does nothing, the guest exits with
 * RT_EXIT_FAIL. */
#include "../lib/rt.h"

int guest_main(void)
{
	if (rt_acpi_init()) {
		rt_printf("reset-test: no ACPI tables: FAIL\n");
		return RT_EXIT_FAIL;
	}
	if (!rt_acpi.have_reset) {
		rt_printf("reset-test: the FADT has no RESET_REG; writing 0x6 to port 0xcf9\n");
		rt_outb(0xcf9, 0x06);
		rt_delay_us(200000);
		rt_printf("reset-test: still running 200 ms after the reset write: FAIL\n");
		return RT_EXIT_FAIL;
	}
	rt_printf("reset-test: writing 0x%x to RESET_REG (%s 0x%lx)\n", rt_acpi.reset_value,
		  rt_acpi.reset_reg.space == 1 ? "I/O" : "MMIO", rt_acpi.reset_reg.address);
	rt_acpi_reset();
	rt_printf("reset-test: still running 200 ms after the reset write: FAIL\n");
	return RT_EXIT_FAIL;
}
