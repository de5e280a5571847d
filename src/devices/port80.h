/*
 * port80.h — the POST-code port 0x80: firmware and kernels write progress
 * codes (and Linux uses it as an I/O delay). Writes are accepted and the last
 * code kept; reads return the last code (as on most chipsets).
 */
#ifndef VMON_DEVICES_PORT80_H
#define VMON_DEVICES_PORT80_H

#include <stdint.h>

#include "bus/bus.h"
#include "base/device.h"

#define PORT80_PORT 0x80
#define PORT80_LEN 1

struct port80;

/* port80_create - the port, last code 0. NULL with errno on failure. */
struct port80 *port80_create(void);

/* port80_destroy - free it; NULL is a no-op. */
void port80_destroy(struct port80 *p);

/* port80_last - the last code written (for diagnostics). Any thread. */
uint8_t port80_last(struct port80 *p);

/* port80_ops - 1-port range; any write of size 1 keeps its low byte; other sizes are ignored. */
extern const struct bus_region_ops port80_ops;

/* port80_device_ops - lifecycle (name "port80", version 1: the last code, u8). */
extern const struct device_ops port80_device_ops;

#endif
