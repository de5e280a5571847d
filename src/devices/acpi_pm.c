/* acpi_pm.c — hardware-reduced ACPI sleep control/status and the 0xCF9 reset register. */
#include "devices/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/log.h"

#define ACPI_PM_VERSION 1
#define RESET_REG_KEPT 0x0e /* 0xCF9 bits 1-3 (system reset, reset CPU, full reset) */

struct acpi_pm {
	pthread_mutex_t lock;
	const struct power_sink *power;
	uint8_t sleep_status; /* WAK_STS */
	uint8_t reset_reg;
	struct ratelimit rl;
};

static uint64_t sleep_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint8_t v;

	if (size != 1 || offset >= ACPI_PM_SLEEP_LEN)
		return ~0ull;
	if (offset == 0)
		return 0; /* SLEEP_CONTROL_REG is write-only */
	pthread_mutex_lock(&pm->lock);
	v = pm->sleep_status;
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void sleep_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct acpi_pm *pm = opaque;
	unsigned typ;

	if (size != 1 || offset >= ACPI_PM_SLEEP_LEN) {
		log_guest(&pm->rl, "acpi_pm: %u-byte write at offset %llu ignored", size,
			  (unsigned long long)offset);
		return;
	}
	if (offset == 1) { /* write-1-to-clear */
		pthread_mutex_lock(&pm->lock);
		pm->sleep_status &= ~(value & ACPI_PM_WAK_STS);
		pthread_mutex_unlock(&pm->lock);
		return;
	}
	if (!(value & ACPI_PM_SLP_EN))
		return;
	typ = (value & ACPI_PM_SLP_TYP_MASK) >> ACPI_PM_SLP_TYP_SHIFT;
	if (typ == ACPI_PM_SLP_TYP_S5)
		power_sink_send(pm->power, POWER_OFF, 0);
	else
		log_guest(&pm->rl, "acpi_pm: sleep type %u not supported, ignored", typ);
}

static uint64_t reset_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint8_t v;

	if (size != 1 || offset != 0)
		return ~0ull;
	pthread_mutex_lock(&pm->lock);
	v = pm->reset_reg;
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void reset_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint8_t v = (uint8_t)value;

	if (size != 1 || offset != 0)
		return;
	pthread_mutex_lock(&pm->lock);
	pm->reset_reg = v & RESET_REG_KEPT;
	pthread_mutex_unlock(&pm->lock);
	if (v == ACPI_PM_RESET_VALUE || (v & ACPI_PM_RESET_CPU))
		power_sink_send(pm->power, POWER_RESET, 0);
}

const struct bus_region_ops acpi_pm_sleep_ops = { .read = sleep_read, .write = sleep_write };
const struct bus_region_ops acpi_pm_reset_ops = { .read = reset_read, .write = reset_write };

struct acpi_pm *acpi_pm_create(const struct power_sink *power)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int err;

	if (!pm) {
		errno = ENOMEM;
		return NULL;
	}
	err = pthread_mutex_init(&pm->lock, NULL);
	if (err) {
		free(pm);
		errno = err;
		return NULL;
	}
	pm->power = power;
	return pm;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

static void acpi_pm_dev_reset(void *dev)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	pm->sleep_status = 0;
	pm->reset_reg = 0;
	pthread_mutex_unlock(&pm->lock);
}

/* Payload v1: sleep_status u8, reset_reg u8. */
static void acpi_pm_dev_save(void *dev, struct state_writer *w)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	state_begin(w, acpi_pm_device_ops.name, 0, ACPI_PM_VERSION);
	state_put_u8(w, pm->sleep_status);
	state_put_u8(w, pm->reset_reg);
	state_end(w);
	pthread_mutex_unlock(&pm->lock);
}

static int acpi_pm_dev_load(void *dev, struct state_reader *r)
{
	struct acpi_pm *pm = dev;
	uint8_t st = state_get_u8(r), rst = state_get_u8(r);

	if (state_done(r) || (st & ~ACPI_PM_WAK_STS) || (rst & ~RESET_REG_KEPT))
		return -EINVAL;
	pthread_mutex_lock(&pm->lock);
	pm->sleep_status = st;
	pm->reset_reg = rst;
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static void acpi_pm_dev_destroy(void *dev)
{
	acpi_pm_destroy(dev);
}

const struct device_ops acpi_pm_device_ops = {
	.name = "acpi_pm",
	.version = ACPI_PM_VERSION,
	.reset = acpi_pm_dev_reset,
	.save = acpi_pm_dev_save,
	.load = acpi_pm_dev_load,
	.destroy = acpi_pm_dev_destroy,
};
