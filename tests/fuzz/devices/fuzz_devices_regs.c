/*
 * fuzz_devices_regs.c — drives every platform device's register space with
 * random accesses (any offset, any size, any value), random backend input,
 * resets, snapshot round trips (save -> load into a fresh device -> save
 * must give the same bytes) and loads of arbitrary section payloads.
 *
 * Input: a sequence of records {op u8, arg u8, size u8, value u32 LE}.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/chardev_buffer.h"
#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/port80.h"
#include "devices/rtc_cmos.h"
#include "devices/serial8250.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t fuzz_now_ns;

static int64_t fuzz_clock(void *opaque)
{
	return fuzz_now_ns;
}

static void irq_set(struct irq_line *line, int level)
{
	if (level != 0 && level != 1)
		abort(); /* a device must drive 0 or 1 */
}

static void power_event(void *opaque, enum power_event ev, int status)
{
}

static void timer_arm(void *opaque, int64_t deadline_ns)
{
	if (deadline_ns != -1 && deadline_ns <= 0)
		abort(); /* a deadline is -1 or a time on the clock's base */
}

static const struct rtc_timer rtc_timer = { .arm = timer_arm };

struct target {
	const struct bus_region_ops *ops;
	void *opaque;
	uint64_t len;
};

enum { DEV_SERIAL, DEV_I8042, DEV_RTC, DEV_DEBUG_EXIT, DEV_PORT80, DEV_ACPI_PM, NR_DEVS };

struct devs {
	struct chardev_buffer *buf;
	struct serial8250 *serial;
	struct i8042 *kbd;
	struct rtc_cmos *rtc;
	struct debug_exit *dbg;
	struct port80 *p80;
	struct acpi_pm *pm;
	void *dev[NR_DEVS];
	const struct device_ops *dops[NR_DEVS];
};

static struct irq_line irq = { .set_level = irq_set };
static const struct power_sink power = { .event = power_event };
static const struct rtc_clock fclock = { .now_ns = fuzz_clock };

static int devs_create(struct devs *d, bool with_backend)
{
	memset(d, 0, sizeof(*d));
	if (with_backend) {
		d->buf = chardev_buffer_create(64, 256);
		if (!d->buf)
			return -1;
	}
	d->serial = serial8250_create(&irq, d->buf ? chardev_buffer_chardev(d->buf) : NULL, 0);
	d->kbd = i8042_create(&irq, &irq, &power);
	d->rtc = rtc_cmos_create(&irq, &fclock);
	if (d->rtc)
		rtc_cmos_set_timer(d->rtc, &rtc_timer);
	d->dbg = debug_exit_create(&power);
	d->p80 = port80_create();
	d->pm = acpi_pm_create(&power);
	if (!d->serial || !d->kbd || !d->rtc || !d->dbg || !d->p80 || !d->pm)
		abort();
	d->dev[DEV_SERIAL] = d->serial;
	d->dops[DEV_SERIAL] = &serial8250_device_ops;
	d->dev[DEV_I8042] = d->kbd;
	d->dops[DEV_I8042] = &i8042_device_ops;
	d->dev[DEV_RTC] = d->rtc;
	d->dops[DEV_RTC] = &rtc_cmos_device_ops;
	d->dev[DEV_DEBUG_EXIT] = d->dbg;
	d->dops[DEV_DEBUG_EXIT] = &debug_exit_device_ops;
	d->dev[DEV_PORT80] = d->p80;
	d->dops[DEV_PORT80] = &port80_device_ops;
	d->dev[DEV_ACPI_PM] = d->pm;
	d->dops[DEV_ACPI_PM] = &acpi_pm_device_ops;
	return 0;
}

static void devs_destroy(struct devs *d)
{
	for (int i = 0; i < NR_DEVS; i++)
		d->dops[i]->destroy(d->dev[i]);
	if (d->buf)
		chardev_destroy(chardev_buffer_chardev(d->buf));
}

/* save_roundtrip - save device @i, load it into a fresh set, save again: same bytes. */
static void save_roundtrip(struct devs *d, int i)
{
	struct state_writer w1, w2;
	struct state_reader r;
	struct state_section s;
	struct devs fresh;

	state_writer_init(&w1);
	state_writer_init(&w2);
	d->dops[i]->save(d->dev[i], &w1);
	if (state_writer_error(&w1))
		abort();
	state_reader_init(&r, w1.buf, w1.len);
	if (state_next_section(&r, &s) != 1 || strcmp(s.tag, d->dops[i]->name) != 0)
		abort();
	devs_create(&fresh, false);
	if (fresh.dops[i]->load(fresh.dev[i], &s.payload) != 0)
		abort(); /* a device must accept its own state */
	fresh.dops[i]->save(fresh.dev[i], &w2);
	if (w1.len != w2.len || memcmp(w1.buf, w2.buf, w1.len) != 0)
		abort(); /* and reproduce it exactly */
	devs_destroy(&fresh);
	state_writer_free(&w1);
	state_writer_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	struct devs d;
	struct target t[9];

	fuzz_now_ns = 1800000000ll * 1000000000ll;
	if (devs_create(&d, true))
		return 0;
	t[0] = (struct target){ &serial8250_ops, d.serial, SERIAL8250_REGS_LEN };
	t[1] = (struct target){ &i8042_data_ops, d.kbd, 1 };
	t[2] = (struct target){ &i8042_cmd_ops, d.kbd, 1 };
	t[3] = (struct target){ &rtc_cmos_ops, d.rtc, RTC_CMOS_LEN };
	t[4] = (struct target){ &debug_exit_ops, d.dbg, DEBUG_EXIT_LEN };
	t[5] = (struct target){ &port80_ops, d.p80, PORT80_LEN };
	t[6] = (struct target){ &acpi_pm_sleep_ops, d.pm, ACPI_PM_SLEEP_LEN };
	t[7] = (struct target){ &acpi_pm_reset_ops, d.pm, ACPI_PM_RESET_LEN };
	t[8] = t[0];

	while (size >= 7) {
		uint8_t op = data[0], arg = data[1], sz = data[2];
		uint32_t value =
			data[3] | data[4] << 8 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 24;
		struct target *tg = &t[(op & 0x0f) % 9];
		/* mostly in range, sometimes anywhere */
		uint64_t off = (arg & 0x80) ? arg : arg % tg->len;
		unsigned access = (sz & 0x10) ? sizes[sz & 3] : 1;

		data += 7;
		size -= 7;
		fuzz_now_ns += (int64_t)(sz >> 5) * 123456789;
		switch (op >> 4) {
		case 0:
		case 1:
		case 2:
		case 3:
		case 4:
		case 5:
			tg->ops->write(tg->opaque, off, value, access);
			break;
		case 6:
		case 7:
		case 8:
		case 9:
		case 10:
			tg->ops->read(tg->opaque, off, access);
			break;
		case 11: /* host input */
			chardev_buffer_push(d.buf, &data[-4], 1 + (arg & 3));
			break;
		case 12:
			save_roundtrip(&d, arg % NR_DEVS);
			break;
		case 13:
			if (arg & 0x80)
				rtc_cmos_timer_fired(d.rtc);
			else
				d.dops[arg % NR_DEVS]->reset(d.dev[arg % NR_DEVS]);
			break;
		case 14: { /* load an arbitrary payload: the rest of the input */
			struct state_reader r;
			size_t n = value % (size + 1);

			state_reader_init(&r, data, n);
			d.dops[arg % NR_DEVS]->load(d.dev[arg % NR_DEVS], &r);
			data += n;
			size -= n;
			break;
		}
		default:
			if (arg & 1) /* the API's Ctrl-Alt-Del, at any moment */
				i8042_press_ctrl_alt_del(d.kbd);
			else /* drain some output so the backend keeps taking it */
				chardev_buffer_clear_output(d.buf);
			break;
		}
	}
	devs_destroy(&d);
	return 0;
}
