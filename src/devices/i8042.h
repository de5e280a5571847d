/*
 * i8042.h — the PC keyboard controller (Intel 8042 / "AT keyboard
 * controller") at I/O 0x60 (data) and 0x64 (status on read, command on
 * write): status register, command byte (0x20/0x60), controller RAM,
 * self-test (0xAA -> 0x55), interface tests (0xAB/0xA9 -> 0), port
 * enable/disable, output-port access (0xD0/0xD1), output-buffer writes
 * (0xD2/0xD3), and the CPU reset pulse (0xFE, or 0xD1 with bit 0 clear) which
 * becomes POWER_RESET on the power sink (Linux `reboot=k`).
 *
 * A minimal keyboard answers on the first port (ACK 0xFA to every byte;
 * 0xFF reset -> FA AA; 0xF2 identify -> FA AB 83; 0xEE echo -> EE) so that
 * Linux's atkbd probe finishes; no mouse is attached: bytes sent to the second
 * port (0xD4) are answered 0xFE with the timeout bit set.
 *
 * Spec: IBM PC/AT Technical Reference, "Keyboard controller"; the command set
 * as Linux's drivers/input/serio/i8042.h uses it. IRQ 1 (keyboard) and IRQ 12
 * (aux) are raised while a byte for that port waits in the output buffer and
 * the command byte enables its interrupt.
 *
 * Threads: all state is touched from vCPU threads only, under the device's mutex.
 */
#ifndef VMON_DEVICES_I8042_H
#define VMON_DEVICES_I8042_H

#include "bus/bus.h"
#include "base/device.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_KBD_IRQ 1
#define I8042_AUX_IRQ 12

struct i8042;

/*
 * i8042_create - a controller in its power-on state.
 * @kbd_irq, @aux_irq: IRQ 1 and IRQ 12 lines (either may be NULL); not owned.
 * @power: where the reset pulse goes; not owned.
 * Returns the controller, or NULL with errno set.
 */
struct i8042 *i8042_create(struct irq_line *kbd_irq, struct irq_line *aux_irq,
			   const struct power_sink *power);

/* i8042_destroy - free the controller (vCPUs stopped). NULL is a no-op. */
void i8042_destroy(struct i8042 *k);

/*
 * i8042_data_ops / i8042_cmd_ops - register access for the 1-port ranges at
 * 0x60 and 0x64 (offset 0 each); opaque is the struct i8042. Other offsets or
 * sizes read all-ones and ignore writes.
 */
extern const struct bus_region_ops i8042_data_ops;
extern const struct bus_region_ops i8042_cmd_ops;

/* i8042_device_ops - lifecycle (name "i8042", version 1); dev is the struct i8042. */
extern const struct device_ops i8042_device_ops;

/*
 * i8042_press_ctrl_alt_del - queue the keyboard's scan codes for pressing and
 * releasing Ctrl-Alt-Del (Firecracker's SendCtrlAltDel). Any thread.
 * Returns 0, or -EBUSY when the guest has not drained earlier output.
 */
int i8042_press_ctrl_alt_del(struct i8042 *k);

#endif
