/* port80.c — POST-code port: keeps the last code written. */
#include "devices/port80.h"

#include <errno.h>
#include <stdlib.h>

struct port80 {
	uint8_t last; /* accessed atomically: the only state */
};

static uint64_t port80_read(void *opaque, uint64_t offset, unsigned size)
{
	struct port80 *p = opaque;

	if (offset != 0 || size != 1)
		return ~0ull;
	return __atomic_load_n(&p->last, __ATOMIC_RELAXED);
}

static void port80_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct port80 *p = opaque;

	if (offset != 0 || size != 1)
		return;
	__atomic_store_n(&p->last, (uint8_t)value, __ATOMIC_RELAXED);
}

const struct bus_region_ops port80_ops = {
	.read = port80_read,
	.write = port80_write,
};

struct port80 *port80_create(void)
{
	struct port80 *p = calloc(1, sizeof(*p));

	if (!p)
		errno = ENOMEM;
	return p;
}

void port80_destroy(struct port80 *p)
{
	free(p);
}

uint8_t port80_last(struct port80 *p)
{
	return __atomic_load_n(&p->last, __ATOMIC_RELAXED);
}

static void port80_dev_reset(void *dev)
{
	struct port80 *p = dev;

	__atomic_store_n(&p->last, 0, __ATOMIC_RELAXED);
}

static void port80_dev_save(void *dev, struct state_writer *w)
{
	state_begin(w, port80_device_ops.name, 0, port80_device_ops.version);
	state_put_u8(w, port80_last(dev));
	state_end(w);
}

static int port80_dev_load(void *dev, struct state_reader *r)
{
	struct port80 *p = dev;
	uint8_t last = state_get_u8(r);

	if (state_done(r))
		return -EINVAL;
	__atomic_store_n(&p->last, last, __ATOMIC_RELAXED);
	return 0;
}

static void port80_dev_destroy(void *dev)
{
	port80_destroy(dev);
}

const struct device_ops port80_device_ops = {
	.name = "port80",
	.version = 1,
	.reset = port80_dev_reset,
	.save = port80_dev_save,
	.load = port80_dev_load,
	.destroy = port80_dev_destroy,
};
