/*
 * acpi_pm.h — the ACPI hardware-reduced power registers vmon's FADT
 * describes (ACPI 6.4 sections 4.8.3.7 "Sleep Control and Status Registers"
 * and 4.8.3.6 "Reset Register"; FADT fields SLEEP_CONTROL_REG,
 * SLEEP_STATUS_REG, RESET_REG, RESET_VALUE):
 *  - SLEEP_CONTROL_REG, I/O 0x600, 8 bits: a write with SLP_EN (bit 5) set
 *    and SLP_TYP (bits 4:2) == 5 (the \_S5 value vmon's DSDT must give)
 *    powers the VM off; other sleep types are ignored (no S1-S4). Reads 0.
 *  - SLEEP_STATUS_REG, I/O 0x601, 8 bits: WAK_STS (bit 7), write 1 to clear.
 *  - RESET_REG, I/O 0xCF9 (the PC reset-control port), 8 bits: a write of
 *    RESET_VALUE 0x06, or any write with bit 2 (reset CPU) set, resets the VM.
 *    Reads return the last value written (bits 1-3).
 * Events go to the power sink. The ACPI table builder uses these constants.
 */
#ifndef VMON_DEVICES_ACPI_PM_H
#define VMON_DEVICES_ACPI_PM_H

#include <stdint.h>

#include "bus/bus.h"
#include "base/device.h"

#define ACPI_PM_SLEEP_BASE 0x600 /* range of both sleep registers */
#define ACPI_PM_SLEEP_LEN 2
#define ACPI_PM_SLEEP_CONTROL_PORT 0x600 /* FADT SLEEP_CONTROL_REG, SystemIO, 8 bits */
#define ACPI_PM_SLEEP_STATUS_PORT 0x601 /* FADT SLEEP_STATUS_REG, SystemIO, 8 bits */
#define ACPI_PM_SLEEP_REG_BITS 8
#define ACPI_PM_SLP_EN 0x20 /* SLEEP_CONTROL_REG bit 5 */
#define ACPI_PM_SLP_TYP_SHIFT 2 /* SLEEP_CONTROL_REG bits 4:2 */
#define ACPI_PM_SLP_TYP_MASK 0x1c
#define ACPI_PM_SLP_TYP_S5 5 /* the \_S5 package value for the DSDT */
#define ACPI_PM_WAK_STS 0x80 /* SLEEP_STATUS_REG bit 7 */
#define ACPI_PM_RESET_PORT 0xcf9 /* FADT RESET_REG, SystemIO, 8 bits */
#define ACPI_PM_RESET_LEN 1
#define ACPI_PM_RESET_VALUE 0x06 /* FADT RESET_VALUE */
#define ACPI_PM_RESET_CPU 0x04 /* 0xCF9 bit 2: reset on any write with it set */

struct acpi_pm;

/*
 * acpi_pm_create - the registers; @power (not owned) gets POWER_OFF and
 * POWER_RESET. Returns NULL with errno set on failure.
 */
struct acpi_pm *acpi_pm_create(const struct power_sink *power);

/* acpi_pm_destroy - free them; NULL is a no-op. */
void acpi_pm_destroy(struct acpi_pm *pm);

/*
 * acpi_pm_sleep_ops - the 2-port range at ACPI_PM_SLEEP_BASE (offset 0:
 * control, 1: status); acpi_pm_reset_ops - the 1-port range at
 * ACPI_PM_RESET_PORT. opaque is the struct acpi_pm. 1-byte accesses only;
 * others read all-ones and are ignored.
 */
extern const struct bus_region_ops acpi_pm_sleep_ops;
extern const struct bus_region_ops acpi_pm_reset_ops;

/* acpi_pm_device_ops - lifecycle (name "acpi_pm", version 1). */
extern const struct device_ops acpi_pm_device_ops;

#endif
