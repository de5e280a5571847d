/*
 * device.h — the one interface every device model implements, and the IRQ
 * line a device is handed. Devices know nothing of KVM: they get a guest
 * memory handle, their IRQ line(s) and their host backend when created, expose
 * register access through struct bus_region_ops (bus/bus.h), and this
 * lifecycle.
 */
#ifndef VMON_DEVICES_DEVICE_H
#define VMON_DEVICES_DEVICE_H

#include <stdint.h>

#include "base/state.h"

/*
 * struct irq_line - one interrupt line a device drives. @set_level raises
 * (1) or lowers (0) it; an edge-triggered consumer sees a raise. The VM wires
 * it to KVM_IRQ_LINE; unit tests wire it to a recorder.
 */
struct irq_line {
	void (*set_level)(struct irq_line *line, int level);
	void *opaque;
	uint32_t gsi;
};

static inline void irq_line_set(struct irq_line *line, int level)
{
	if (line && line->set_level)
		line->set_level(line, level);
}

/*
 * enum power_event - what a platform device asks of the VM: the guest powered
 * off (ACPI S5), asked for a reset (i8042 0xFE, port 0xCF9, ACPI reset
 * register), or wrote the debug-exit port (then @status is the exit status).
 */
enum power_event { POWER_OFF, POWER_RESET, POWER_EXIT };

/*
 * struct power_sink - where a platform device sends a power event. The VM
 * stops its vCPUs and ends (or restarts) after the current exit; callable from
 * any vCPU thread, any number of times (the first event wins).
 */
struct power_sink {
	void (*event)(void *opaque, enum power_event ev, int status);
	void *opaque;
};

static inline void power_sink_send(const struct power_sink *ps, enum power_event ev, int status)
{
	if (ps && ps->event)
		ps->event(ps->opaque, ev, status);
}

/*
 * struct device_ops - lifecycle of a device model; @dev is the model's own
 * state. @save appends one section (tag = @name) to @w; @load validates every
 * field of @r before changing the device and returns 0 or -EINVAL; @reset
 * returns the device to its power-on state; @destroy frees it.
 */
struct device_ops {
	const char *name;
	uint32_t version;
	void (*reset)(void *dev);
	void (*save)(void *dev, struct state_writer *w);
	int (*load)(void *dev, struct state_reader *r);
	void (*destroy)(void *dev);
};

/* struct device - a registered device instance, kept in the VM's list. */
struct device {
	const struct device_ops *ops;
	void *dev;
	uint32_t instance;
	struct device *next;
};

#endif
