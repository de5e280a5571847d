/* boot_timer.c — Firecracker's guest boot timer on port 0x3f0 (see boot_timer.h). */
#include "devices/boot_timer.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"

struct boot_timer {
	uint64_t start_us, start_cpu_us;
	unsigned signals; /* atomic */
};

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t bt_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque, (void)offset, (void)size;
	return ~0ull;
}

static void bt_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct boot_timer *t = opaque;
	uint64_t us, cpu;

	if (offset != 0 || size != 1 || (uint8_t)value != BOOT_TIMER_MAGIC)
		return;
	us = clock_us(CLOCK_MONOTONIC) - t->start_us;
	cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID) - t->start_cpu_us;
	if (__atomic_add_fetch(&t->signals, 1, __ATOMIC_RELAXED) > 16)
		return; /* a guest that keeps writing it is counted, not logged */
	log_msg(LOG_WARN, "Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
		(unsigned long long)us, (unsigned long long)(us / 1000), (unsigned long long)cpu,
		(unsigned long long)(cpu / 1000));
}

const struct bus_region_ops boot_timer_ops = {
	.read = bt_read,
	.write = bt_write,
};

struct boot_timer *boot_timer_create(void)
{
	struct boot_timer *t = calloc(1, sizeof(*t));

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->start_us = clock_us(CLOCK_MONOTONIC);
	t->start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	return t;
}

unsigned boot_timer_signals(struct boot_timer *t)
{
	return __atomic_load_n(&t->signals, __ATOMIC_RELAXED);
}

static void bt_save(void *dev, struct state_writer *w)
{
	(void)dev;
	state_begin(w, boot_timer_device_ops.name, 0, boot_timer_device_ops.version);
	state_end(w);
}

static int bt_load(void *dev, struct state_reader *r)
{
	(void)dev;
	return state_done(r) ? -EINVAL : 0;
}

static void bt_destroy(void *dev)
{
	free(dev);
}

const struct device_ops boot_timer_device_ops = {
	.name = "boot_timer",
	.version = 1,
	.save = bt_save,
	.load = bt_load,
	.destroy = bt_destroy,
};
