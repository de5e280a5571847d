/*
 * rtc_cmos.h — the PC's MC146818 real-time clock and its CMOS RAM at I/O
 * 0x70 (index; bit 7 is the NMI mask, ignored here) and 0x71 (data).
 *
 * Spec: Motorola MC146818A datasheet (register map figure 3, registers A-D,
 * "Time, Calendar and Alarm Locations"); century at CMOS 0x32 as in the
 * ACPI FADT CENTURY field convention.
 *
 * Time registers (0x00 seconds, 0x02 minutes, 0x04 hours, 0x06 weekday,
 * 0x07 day, 0x08 month, 0x09 year, 0x32 century) show the host's wall clock
 * plus a guest-set offset, in BCD or binary (register B DM) and 12- or
 * 24-hour form (register B 24/12). While register B SET is held the clock
 * reads frozen and guest writes to time registers are kept; clearing SET
 * commits them as a new offset (a write without SET commits at once).
 * Register A reads UIP during the last 244 us of each second; register D
 * reads VRT (0x80). Register C's flags are brought up to date on every
 * access: UF when a second ended, AF when that second matches the alarm
 * registers (0xc0-0xff: don't care), PF at each period of register A's rate
 * select; IRQF (and IRQ 8, raised) when register B enables a set flag.
 * Reading C clears it and lowers IRQ 8. For the interrupts to arrive without
 * guest accesses the VM gives the RTC a one-shot timer (rtc_cmos_set_timer)
 * and calls rtc_cmos_timer_fired when it expires; without one, the flags are
 * still right whenever the guest reads C (polling works, interrupts do not).
 * The rest of the 128 bytes is plain CMOS RAM.
 *
 * Threads: vCPU threads only, under the device's mutex.
 */
#ifndef VMON_DEVICES_RTC_CMOS_H
#define VMON_DEVICES_RTC_CMOS_H

#include <stdint.h>

#include "bus/bus.h"
#include "base/device.h"

#define RTC_CMOS_PORT 0x70
#define RTC_CMOS_LEN 2
#define RTC_CMOS_IRQ 8
#define RTC_CMOS_CENTURY 0x32 /* CMOS index of the century byte (FADT CENTURY) */
#define RTC_CMOS_RAM_LEN 128

/*
 * struct rtc_clock - where the RTC reads wall-clock time: @now_ns returns
 * nanoseconds since the Unix epoch (UTC). Tests inject a fixed clock.
 */
struct rtc_clock {
	int64_t (*now_ns)(void *opaque);
	void *opaque;
};

/*
 * struct rtc_timer - a one-shot timer the VM lends the RTC for its
 * interrupts. @arm(@opaque, deadline_ns) (re)arms it for @deadline_ns on the
 * rtc_clock's time base (absolute, CLOCK_REALTIME for the host clock), or
 * disarms it when deadline_ns is -1; it replaces any earlier deadline. It is
 * called with the RTC's lock held, from vCPU threads and from
 * rtc_cmos_timer_fired: it must not call back into the RTC.
 */
struct rtc_timer {
	void (*arm)(void *opaque, int64_t deadline_ns);
	void *opaque;
};

struct rtc_cmos;

/*
 * rtc_cmos_create - an RTC showing @clock's time (NULL: the host's
 * CLOCK_REALTIME; copied), with zeroed CMOS RAM, 24-hour BCD mode.
 * @irq: IRQ 8 line (may be NULL); not owned. NULL with errno on failure.
 */
struct rtc_cmos *rtc_cmos_create(struct irq_line *irq, const struct rtc_clock *clock);

/* rtc_cmos_destroy - free it; NULL is a no-op. */
void rtc_cmos_destroy(struct rtc_cmos *rtc);

/*
 * rtc_cmos_set_timer - give the RTC a timer for its interrupts (NULL: none,
 * the default); copied. Call before the vCPUs run. The VM implements it with
 * a timerfd (TFD_TIMER_ABSTIME on CLOCK_REALTIME) watched by its event loop.
 */
void rtc_cmos_set_timer(struct rtc_cmos *rtc, const struct rtc_timer *timer);

/*
 * rtc_cmos_timer_fired - the timer's deadline passed: set the flags, raise
 * IRQ 8 if enabled, re-arm. Any thread (normally the event loop's).
 */
void rtc_cmos_timer_fired(struct rtc_cmos *rtc);

/*
 * rtc_cmos_set_ram - set CMOS byte @index (< 128, not a clock register
 * 0x00-0x0d or the century) before the VM starts, e.g. the memory size bytes
 * firmware reads. Returns 0 or -EINVAL.
 */
int rtc_cmos_set_ram(struct rtc_cmos *rtc, unsigned index, uint8_t value);

/*
 * rtc_cmos_ops - the 2-port range at 0x70: offset 0 writes the index (reads
 * 0xff), offset 1 reads/writes the indexed byte. 1-byte accesses only.
 */
extern const struct bus_region_ops rtc_cmos_ops;

/* rtc_cmos_device_ops - lifecycle (name "rtc_cmos", version 1). The guest's
 * clock offset is saved relative to the wall clock, so it survives a restore. */
extern const struct device_ops rtc_cmos_device_ops;

#endif
