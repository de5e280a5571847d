/* test_misc.c — debug-exit, port 0x80 and the ACPI power registers. */
#include <errno.h>

#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/port80.h"
#include "devices/boot_timer.h"
#include "fake_platform.h"
#include "harness.h"

TEST(debug_exit_status_is_shifted_value)
{
	struct fake_power p;
	struct debug_exit *d;

	fake_power_init(&p);
	d = debug_exit_create(&p.sink);
	REQUIRE(d);
	debug_exit_ops.write(d, 0, 0, 1);
	CHECK_EQ(p.events, 1);
	CHECK_EQ(p.last, POWER_EXIT);
	CHECK_EQ(p.status, 1);
	debug_exit_ops.write(d, 0, 0x10, 4);
	CHECK_EQ(p.status, 0x21);
	debug_exit_ops.write(d, 0, 0x1ff, 1); /* a byte write takes the byte */
	CHECK_EQ(p.status, 0x1ff);
	debug_exit_ops.write(d, 0, 0x12345, 2);
	CHECK_EQ(p.status, (0x2345 << 1) | 1);
	CHECK_EQ(p.events, 4);
	debug_exit_ops.write(d, 1, 1, 1); /* not the register */
	debug_exit_ops.write(d, 0, 1, 8);
	CHECK_EQ(p.events, 4);
	CHECK_EQ(debug_exit_ops.read(d, 0, 4), ~0ull);
	debug_exit_destroy(d);
}

TEST(boot_timer_signals_on_byte_123_at_port_0x3f0_only)
{
	struct boot_timer *t = boot_timer_create();
	struct state_writer w;

	REQUIRE(t != NULL);
	CHECK_EQ(BOOT_TIMER_PORT, 0x3f0);
	boot_timer_ops.write(t, 0, 122, 1); /* another value */
	boot_timer_ops.write(t, 0, 123, 2); /* another size */
	boot_timer_ops.write(t, 1, 123, 1); /* another offset */
	CHECK_EQ(boot_timer_signals(t), 0);
	boot_timer_ops.write(t, 0, 123, 1);
	CHECK_EQ(boot_timer_signals(t), 1);
	for (unsigned i = 0; i < 100; i++) /* counted, logged only 16 times */
		boot_timer_ops.write(t, 0, 0x100 | 123, 1);
	CHECK_EQ(boot_timer_signals(t), 101);
	CHECK_EQ(boot_timer_ops.read(t, 0, 1), ~0ull);
	state_writer_init(&w);
	boot_timer_device_ops.save(t, &w);
	CHECK(!state_writer_error(&w));
	state_writer_free(&w);
	boot_timer_device_ops.destroy(t);
}

TEST(port80_keeps_last_code)
{
	struct port80 *p = port80_create();
	struct state_writer w;
	struct state_reader r;
	struct state_section sec;

	REQUIRE(p);
	port80_ops.write(p, 0, 0x3c, 1);
	CHECK_EQ(port80_last(p), 0x3c);
	CHECK_EQ(port80_ops.read(p, 0, 1), 0x3c);
	port80_ops.write(p, 0, 0x99, 4); /* ignored */
	CHECK_EQ(port80_last(p), 0x3c);
	state_writer_init(&w);
	port80_device_ops.save(p, &w);
	port80_device_ops.reset(p);
	CHECK_EQ(port80_last(p), 0);
	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &sec) == 1);
	CHECK_EQ(port80_device_ops.load(p, &sec.payload), 0);
	CHECK_EQ(port80_last(p), 0x3c);
	state_writer_free(&w);
	port80_destroy(p);
}

TEST(acpi_pm_s5_powers_off)
{
	struct fake_power p;
	struct acpi_pm *pm;

	fake_power_init(&p);
	pm = acpi_pm_create(&p.sink);
	REQUIRE(pm);
	/* SLP_TYP 5 without SLP_EN: nothing */
	acpi_pm_sleep_ops.write(pm, 0, ACPI_PM_SLP_TYP_S5 << ACPI_PM_SLP_TYP_SHIFT, 1);
	CHECK_EQ(p.events, 0);
	/* another sleep type: ignored */
	acpi_pm_sleep_ops.write(pm, 0, ACPI_PM_SLP_EN | (3 << ACPI_PM_SLP_TYP_SHIFT), 1);
	CHECK_EQ(p.events, 0);
	acpi_pm_sleep_ops.write(pm, 0,
				ACPI_PM_SLP_EN | (ACPI_PM_SLP_TYP_S5 << ACPI_PM_SLP_TYP_SHIFT), 1);
	CHECK_EQ(p.events, 1);
	CHECK_EQ(p.last, POWER_OFF);
	CHECK_EQ(acpi_pm_sleep_ops.read(pm, 1, 1), 0); /* WAK_STS clear */
	CHECK_EQ(acpi_pm_sleep_ops.read(pm, 2, 1), ~0ull);
	acpi_pm_destroy(pm);
}

TEST(acpi_pm_reset_register)
{
	struct fake_power p;
	struct acpi_pm *pm;

	fake_power_init(&p);
	pm = acpi_pm_create(&p.sink);
	REQUIRE(pm);
	acpi_pm_reset_ops.write(pm, 0, 0x02, 1); /* system reset bit alone: no reset yet */
	CHECK_EQ(p.events, 0);
	CHECK_EQ(acpi_pm_reset_ops.read(pm, 0, 1), 0x02);
	acpi_pm_reset_ops.write(pm, 0, ACPI_PM_RESET_VALUE, 1);
	CHECK_EQ(p.events, 1);
	CHECK_EQ(p.last, POWER_RESET);
	acpi_pm_reset_ops.write(pm, 0, 0x0e, 1); /* full reset with bit 2 */
	CHECK_EQ(p.events, 2);
	acpi_pm_reset_ops.write(pm, 0, 0x06, 2); /* wrong size: ignored */
	CHECK_EQ(p.events, 2);
	acpi_pm_destroy(pm);
}

TEST(acpi_pm_save_load_validates)
{
	struct fake_power p;
	struct acpi_pm *pm;
	struct state_writer w;
	struct state_reader r, q;
	struct state_section sec;
	const uint8_t bad[2] = { 0x01, 0x00 };

	fake_power_init(&p);
	pm = acpi_pm_create(&p.sink);
	REQUIRE(pm);
	acpi_pm_reset_ops.write(pm, 0, 0x02, 1);
	state_writer_init(&w);
	acpi_pm_device_ops.save(pm, &w);
	acpi_pm_device_ops.reset(pm);
	CHECK_EQ(acpi_pm_reset_ops.read(pm, 0, 1), 0);
	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &sec) == 1);
	state_reader_init(&q, sec.payload.buf, 1);
	CHECK_EQ(acpi_pm_device_ops.load(pm, &q), -EINVAL);
	state_reader_init(&q, bad, sizeof(bad));
	CHECK_EQ(acpi_pm_device_ops.load(pm, &q), -EINVAL);
	CHECK_EQ(acpi_pm_device_ops.load(pm, &sec.payload), 0);
	CHECK_EQ(acpi_pm_reset_ops.read(pm, 0, 1), 0x02);
	state_writer_free(&w);
	acpi_pm_destroy(pm);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(debug_exit_status_is_shifted_value)
	HARNESS_T(boot_timer_signals_on_byte_123_at_port_0x3f0_only)
	HARNESS_T(port80_keeps_last_code)
	HARNESS_T(acpi_pm_s5_powers_off)
	HARNESS_T(acpi_pm_reset_register)
	HARNESS_T(acpi_pm_save_load_validates)
)
/* clang-format on */
