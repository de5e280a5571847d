/*
 * debug_exit.h — QEMU-compatible isa-debug-exit: a 4-byte I/O register (at
 * 0xf4 by convention) where a guest write of v ends the VM with exit status
 * (v << 1) | 1, so a test guest can report pass/fail. Reads return all-ones.
 *
 * Spec: QEMU hw/misc/debugexit.c behaviour ("iobase=0xf4,iosize=0x04"):
 * status = (value << 1) | 1, value being the written access (1, 2 or 4 bytes)
 * at the register's base. Stateless; the event goes to the power sink as
 * POWER_EXIT with that status.
 */
#ifndef VMON_DEVICES_DEBUG_EXIT_H
#define VMON_DEVICES_DEBUG_EXIT_H

#include "bus/bus.h"
#include "base/device.h"

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_LEN 4

struct debug_exit;

/* debug_exit_create - the port; @power (not owned) receives POWER_EXIT. NULL with errno on failure.
 */
struct debug_exit *debug_exit_create(const struct power_sink *power);

/* debug_exit_destroy - free it; NULL is a no-op. */
void debug_exit_destroy(struct debug_exit *d);

/*
 * debug_exit_ops - access to the 4-byte range; opaque is the struct
 * debug_exit. A write of size 1, 2 or 4 at offset 0 sends
 * POWER_EXIT((value << 1) | 1); other writes are ignored; reads are all-ones.
 */
extern const struct bus_region_ops debug_exit_ops;

/* debug_exit_device_ops - lifecycle (name "debug_exit", version 1, empty payload). */
extern const struct device_ops debug_exit_device_ops;

#endif
