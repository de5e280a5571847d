/*
 * serial8250.h — a 16550A UART (the PC's COM ports): eight byte-wide
 * registers at offsets 0..7 of its I/O range, 16-byte RX/TX FIFOs, the
 * 16550's interrupt sources and priorities, loopback, and a character backend
 * for host input and output.
 *
 * Spec: National Semiconductor / TI "PC16550D UART with FIFOs" datasheet
 * (SNLS378), sections 8.4-8.6 (register map, IIR priority table 4, LSR, MCR,
 * MSR). Register names and bits come from <linux/serial_reg.h>.
 *
 * Transmission is instantaneous: a THR write goes to the backend at once, so
 * THRE and TEMT read back set and the THRE interrupt is re-armed. Received
 * bytes are pulled from the backend only while the RX FIFO has room; a
 * "character timeout" (IIR 0x0C) is reported at once when the FIFO holds
 * fewer bytes than the trigger level, since no more input is pending then.
 *
 * IRQ: as on the PC, the interrupt output reaches the line only while
 * MCR.OUT2 is set (Linux's 8250 driver sets OUT2 for every port with an IRQ).
 * COM1 is I/O 0x3f8-0x3ff, IRQ 4; COM2 is 0x2f8-0x2ff, IRQ 3.
 *
 * Threads: register accesses come from vCPU threads, backend input from the
 * event loop; both take the device's mutex.
 */
#ifndef VMON_DEVICES_SERIAL8250_H
#define VMON_DEVICES_SERIAL8250_H

#include <stdint.h>

#include "base/chardev.h"
#include "bus/bus.h"
#include "base/device.h"

#define SERIAL8250_COM1_BASE 0x3f8
#define SERIAL8250_COM1_IRQ 4
#define SERIAL8250_COM2_BASE 0x2f8
#define SERIAL8250_COM2_IRQ 3
#define SERIAL8250_REGS_LEN 8
#define SERIAL8250_FIFO_LEN 16

struct serial8250;

/*
 * serial8250_create - a UART in its power-on state.
 * @irq:      its interrupt line (may be NULL: no interrupts); not owned.
 * @cd:       its host backend (may be NULL: output discarded, no input);
 *            not owned, must outlive the UART. The UART attaches itself
 *            as @cd's notify target.
 * @instance: the instance number written into its snapshot section.
 * Returns the UART, or NULL with errno set (ENOMEM).
 */
struct serial8250 *serial8250_create(struct irq_line *irq, struct chardev *cd, uint32_t instance);

/*
 * serial8250_destroy - detach from the backend and free the UART. The caller
 * must have stopped the backend's thread and the vCPUs first. NULL is a no-op.
 */
void serial8250_destroy(struct serial8250 *s);

/*
 * serial8250_ops - register access for the UART's 8-port range; opaque is the
 * struct serial8250. Only 1-byte accesses are served: other sizes and
 * offsets >= 8 read all-ones and are ignored on write.
 */
extern const struct bus_region_ops serial8250_ops;

/*
 * serial8250_device_ops - lifecycle (name "serial8250", version 1); dev is
 * the struct serial8250. @load takes the payload of a "serial8250" section,
 * validates all of it and returns -EINVAL without changing the UART on bad
 * input. After a load the IRQ line is driven to the loaded state.
 */
extern const struct device_ops serial8250_device_ops;

/*
 * serial8250_input_ready - pull pending backend input into the RX FIFO while
 * it has room. The backend's notify callback; safe from any thread.
 */
void serial8250_input_ready(void *opaque);

#endif
