/*
 * boot_timer.h — Firecracker's boot timer (its --boot-timer flag): a guest
 * that writes the byte 123 to port 0x3f0 (Firecracker's test init does, as
 * the last thing before the real init) makes vmon log, once per write,
 *   Guest-boot-time = <us> us <ms> ms, <cpu us> CPU us <cpu ms> CPU ms
 * measured from the device's creation (when the VM is built, as Firecracker
 * measures from its InstanceStart); the first 16 signals are logged, the rest
 * only counted. Other values, offsets or sizes are ignored; reads return 0xff.
 * No guest-visible state.
 */
#ifndef VMON_DEVICES_BOOT_TIMER_H
#define VMON_DEVICES_BOOT_TIMER_H

#include <stdint.h>

#include "base/device.h"
#include "bus/bus.h"

#define BOOT_TIMER_PORT 0x3f0
#define BOOT_TIMER_LEN 1
#define BOOT_TIMER_MAGIC 123

struct boot_timer;

/* boot_timer_create - a timer started now. NULL with errno on failure. */
struct boot_timer *boot_timer_create(void);

/* boot_timer_signals - how many times the guest signalled (for tests). */
unsigned boot_timer_signals(struct boot_timer *t);

/* boot_timer_ops - the 1-port range. */
extern const struct bus_region_ops boot_timer_ops;

/* boot_timer_device_ops - lifecycle (name "boot_timer", version 1, an empty section). */
extern const struct device_ops boot_timer_device_ops;

#endif
