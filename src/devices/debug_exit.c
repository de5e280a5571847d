/* debug_exit.c — isa-debug-exit: a guest write ends the VM with status (v << 1) | 1. */
#include "devices/debug_exit.h"

#include <errno.h>
#include <stdlib.h>

#include "util/log.h"

struct debug_exit {
	const struct power_sink *power;
	struct ratelimit rl; /* only touched by log_guest; a lost update is harmless */
};

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	return ~0ull;
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct debug_exit *d = opaque;
	uint32_t v;

	if (offset != 0 || (size != 1 && size != 2 && size != 4)) {
		log_guest(&d->rl, "debug_exit: %u-byte write at offset %llu ignored", size,
			  (unsigned long long)offset);
		return;
	}
	v = (uint32_t)value;
	if (size < 4)
		v &= (1u << (8 * size)) - 1;
	power_sink_send(d->power, POWER_EXIT, (int)((v << 1) | 1));
}

const struct bus_region_ops debug_exit_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

struct debug_exit *debug_exit_create(const struct power_sink *power)
{
	struct debug_exit *d = calloc(1, sizeof(*d));

	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->power = power;
	return d;
}

void debug_exit_destroy(struct debug_exit *d)
{
	free(d);
}

static void debug_exit_dev_reset(void *dev)
{
}

static void debug_exit_dev_save(void *dev, struct state_writer *w)
{
	state_begin(w, debug_exit_device_ops.name, 0, debug_exit_device_ops.version);
	state_end(w);
}

static int debug_exit_dev_load(void *dev, struct state_reader *r)
{
	return state_done(r) ? -EINVAL : 0;
}

static void debug_exit_dev_destroy(void *dev)
{
	debug_exit_destroy(dev);
}

const struct device_ops debug_exit_device_ops = {
	.name = "debug_exit",
	.version = 1,
	.reset = debug_exit_dev_reset,
	.save = debug_exit_dev_save,
	.load = debug_exit_dev_load,
	.destroy = debug_exit_dev_destroy,
};
