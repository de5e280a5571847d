/* fake_platform.h — test doubles for device unit tests: an IRQ line recorder and a power sink
 * recorder. */
#ifndef VMON_TESTS_UNIT_DEVICES_FAKE_PLATFORM_H
#define VMON_TESTS_UNIT_DEVICES_FAKE_PLATFORM_H

#include "base/device.h"

struct fake_irq {
	struct irq_line line;
	int level;
	unsigned raises; /* 0 -> 1 transitions */
	unsigned calls;
};

static void fake_irq_set(struct irq_line *line, int level)
{
	struct fake_irq *f = line->opaque;

	f->calls++;
	if (level && !f->level)
		f->raises++;
	f->level = level;
}

static inline void fake_irq_init(struct fake_irq *f)
{
	*f = (struct fake_irq){ .line = { .set_level = fake_irq_set } };
	f->line.opaque = f;
}

struct fake_power {
	struct power_sink sink;
	unsigned events;
	enum power_event last;
	int status;
};

static void fake_power_event(void *opaque, enum power_event ev, int status)
{
	struct fake_power *p = opaque;

	p->events++;
	p->last = ev;
	p->status = status;
}

static inline void fake_power_init(struct fake_power *p)
{
	*p = (struct fake_power){ .sink = { .event = fake_power_event } };
	p->sink.opaque = p;
}

#endif
