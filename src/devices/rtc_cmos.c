/* rtc_cmos.c — MC146818 RTC: wall clock plus guest offset, BCD/binary, 12/24h, SET, CMOS RAM. */
#include "devices/rtc_cmos.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

#define RTC_VERSION 1
#define NSEC 1000000000ll

/* Register indexes (MC146818A figure 3). */
#define REG_SEC 0x00
#define REG_SEC_ALARM 0x01
#define REG_MIN 0x02
#define REG_MIN_ALARM 0x03
#define REG_HOUR 0x04
#define REG_HOUR_ALARM 0x05
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MON 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

#define A_UIP 0x80
#define A_DV_MASK 0x70
#define A_DV_32K 0x20 /* DV = 010: 32.768 kHz time base, running */
#define A_RS_MASK 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM 0x04 /* 1 = binary, 0 = BCD */
#define B_24H 0x02 /* 1 = 24-hour */
#define C_IRQF 0x80
#define C_PF 0x40 /* C's PF, AF, UF sit at the bits of B's PIE, AIE, UIE */
#define C_AF 0x20
#define C_UF 0x10
#define C_FLAGS (C_PF | C_AF | C_UF)
#define D_VRT 0x80
#define ALARM_DONT_CARE 0xc0
#define HOUR_PM 0x80
#define UIP_NS 244000 /* UIP is set this long before each update (tBUC + tUC) */

/* Years a guest may set: keeps the nanosecond offset far from overflow. */
#define YEAR_MIN 1900
#define YEAR_MAX 2199

struct rtc_cmos {
	pthread_mutex_t lock;
	struct irq_line *irq;
	struct rtc_clock clock;
	uint8_t index;
	uint8_t cmos[RTC_CMOS_RAM_LEN];
	int64_t offset_ns; /* guest time - wall clock */
	int64_t last_ns; /* guest time when the flags in register C were last brought up to date */
	struct rtc_timer timer;
	int64_t armed_ns; /* deadline given to the timer, -1 none */
	int irq_level;
	struct ratelimit rl;
};

static int64_t realtime_ns(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static bool is_time_reg(unsigned i)
{
	return i == REG_SEC || i == REG_MIN || i == REG_HOUR || i == REG_WDAY || i == REG_MDAY ||
	       i == REG_MON || i == REG_YEAR || i == RTC_CMOS_CENTURY;
}

static int64_t guest_ns(const struct rtc_cmos *rtc)
{
	return rtc->clock.now_ns(rtc->clock.opaque) + rtc->offset_ns;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* periodic_hz - the periodic interrupt rate of register A (MC146818A table 5), 0 = none. */
static int64_t periodic_hz(const struct rtc_cmos *rtc)
{
	unsigned rs = rtc->cmos[REG_A] & A_RS_MASK;

	if (rs == 0 || (rtc->cmos[REG_A] & A_DV_MASK) != A_DV_32K)
		return 0;
	if (rs < 3)
		rs += 7; /* RS 1 and 2 repeat RS 8 and 9 with a 32.768 kHz base */
	return 65536 >> rs; /* 8192 Hz (RS 3) ... 2 Hz (RS 15) */
}

/* period_index - which periodic interval guest time @t_ns is in (aligned to seconds). */
static int64_t period_index(int64_t t_ns, int64_t hz)
{
	int64_t sec = floor_div(t_ns, NSEC);

	return sec * hz + (t_ns - sec * NSEC) * hz / NSEC;
}

/* period_start - the guest time interval @idx begins. */
static int64_t period_start(int64_t idx, int64_t hz)
{
	int64_t sec = floor_div(idx, hz);

	return sec * NSEC + ((idx - sec * hz) * NSEC + hz - 1) / hz;
}

static uint8_t encode(const struct rtc_cmos *rtc, unsigned v)
{
	if (rtc->cmos[REG_B] & B_DM)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned decode(const struct rtc_cmos *rtc, uint8_t v)
{
	if (rtc->cmos[REG_B] & B_DM)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

/* time_regs - the time and calendar registers for guest time @t_ns, in the current mode. */
static void time_regs(const struct rtc_cmos *rtc, int64_t t_ns, uint8_t out[RTC_CMOS_RAM_LEN])
{
	time_t secs = (time_t)(t_ns / NSEC - (t_ns % NSEC < 0));
	struct tm tm;
	unsigned year, hour;

	if (!gmtime_r(&secs, &tm))
		memset(&tm, 0, sizeof(tm));
	year = (unsigned)(tm.tm_year + 1900);
	out[REG_SEC] = encode(rtc, (unsigned)tm.tm_sec);
	out[REG_MIN] = encode(rtc, (unsigned)tm.tm_min);
	hour = (unsigned)tm.tm_hour;
	if (rtc->cmos[REG_B] & B_24H) {
		out[REG_HOUR] = encode(rtc, hour);
	} else {
		out[REG_HOUR] = encode(rtc, hour % 12 ? hour % 12 : 12);
		if (hour >= 12)
			out[REG_HOUR] |= HOUR_PM;
	}
	out[REG_WDAY] = encode(rtc, (unsigned)tm.tm_wday + 1); /* 1 = Sunday */
	out[REG_MDAY] = encode(rtc, (unsigned)tm.tm_mday);
	out[REG_MON] = encode(rtc, (unsigned)tm.tm_mon + 1);
	out[REG_YEAR] = encode(rtc, year % 100);
	out[RTC_CMOS_CENTURY] = encode(rtc, year / 100);
}

/* latch_time - copy the running clock into the time registers (SET taken, or a direct write). */
static void latch_time(struct rtc_cmos *rtc)
{
	uint8_t regs[RTC_CMOS_RAM_LEN];

	time_regs(rtc, guest_ns(rtc), regs);
	for (unsigned i = 0; i < RTC_CMOS_RAM_LEN; i++)
		if (is_time_reg(i))
			rtc->cmos[i] = regs[i];
}

/* alarm_matches - the alarm registers match guest time @t_ns (0xc0-0xff: don't care). */
static bool alarm_matches(const struct rtc_cmos *rtc, int64_t t_ns)
{
	static const uint8_t pairs[3][2] = { { REG_SEC, REG_SEC_ALARM },
					     { REG_MIN, REG_MIN_ALARM },
					     { REG_HOUR, REG_HOUR_ALARM } };
	uint8_t regs[RTC_CMOS_RAM_LEN];

	time_regs(rtc, t_ns, regs);
	for (unsigned i = 0; i < 3; i++) {
		uint8_t alarm = rtc->cmos[pairs[i][1]];

		if ((alarm & ALARM_DONT_CARE) != ALARM_DONT_CARE && alarm != regs[pairs[i][0]])
			return false;
	}
	return true;
}

/*
 * update_flags - bring register C up to date with the time passed since the
 * last look: UF when a second ended (an update cycle), AF when that second
 * matches the alarm, PF when a periodic boundary passed; IRQF when a flag is
 * set whose interrupt register B enables (MC146818A "Register C").
 */
static void update_flags(struct rtc_cmos *rtc)
{
	int64_t now = guest_ns(rtc), hz = periodic_hz(rtc);

	if (rtc->cmos[REG_B] & B_SET) { /* updates inhibited */
		rtc->last_ns = now;
		return;
	}
	if (now > rtc->last_ns) {
		if (floor_div(now, NSEC) != floor_div(rtc->last_ns, NSEC)) {
			rtc->cmos[REG_C] |= C_UF;
			if (alarm_matches(rtc, now))
				rtc->cmos[REG_C] |= C_AF;
		}
		if (hz && period_index(now, hz) != period_index(rtc->last_ns, hz))
			rtc->cmos[REG_C] |= C_PF;
	}
	rtc->last_ns = now;
	if (rtc->cmos[REG_C] & rtc->cmos[REG_B] & C_FLAGS)
		rtc->cmos[REG_C] |= C_IRQF;
}

/*
 * update_irq_and_timer - drive IRQ 8 from IRQF, and ask the timer for the
 * next moment an enabled interrupt can fire (none while IRQF waits for a
 * register C read, while SET holds, or with no interrupt enabled).
 */
static void update_irq_and_timer(struct rtc_cmos *rtc)
{
	uint8_t b = rtc->cmos[REG_B];
	int level = !!(rtc->cmos[REG_C] & C_IRQF);
	int64_t when = -1, g, hz, next;
	bool have = false;

	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		irq_line_set(rtc->irq, level);
	}
	if (!rtc->timer.arm)
		return;
	if (!level && !(b & B_SET)) {
		g = guest_ns(rtc);
		if (b & (B_UIE | B_AIE)) {
			when = (floor_div(g, NSEC) + 1) * NSEC;
			have = true;
		}
		hz = periodic_hz(rtc);
		if ((b & B_PIE) && hz) {
			next = period_start(period_index(g, hz) + 1, hz);
			if (!have || next < when)
				when = next;
			have = true;
		}
		/* back to the clock's time base: after its present, so positive */
		when = have ? when - rtc->offset_ns : -1;
	}
	if (when != rtc->armed_ns) {
		rtc->armed_ns = when;
		rtc->timer.arm(rtc->timer.opaque, when);
	}
}

/* commit_time - make the time registers the guest's time, starting now. */
static void commit_time(struct rtc_cmos *rtc)
{
	struct tm tm = { 0 };
	unsigned hour, year;
	uint8_t h = rtc->cmos[REG_HOUR];
	time_t secs;

	if (rtc->cmos[REG_B] & B_24H) {
		hour = decode(rtc, h);
	} else {
		hour = decode(rtc, h & ~HOUR_PM) % 12;
		if (h & HOUR_PM)
			hour += 12;
	}
	year = decode(rtc, rtc->cmos[RTC_CMOS_CENTURY]) * 100 + decode(rtc, rtc->cmos[REG_YEAR]);
	tm.tm_sec = (int)decode(rtc, rtc->cmos[REG_SEC]);
	tm.tm_min = (int)decode(rtc, rtc->cmos[REG_MIN]);
	tm.tm_hour = (int)hour;
	tm.tm_mday = (int)decode(rtc, rtc->cmos[REG_MDAY]);
	tm.tm_mon = (int)decode(rtc, rtc->cmos[REG_MON]) - 1;
	tm.tm_year = (int)year - 1900;
	if (tm.tm_sec > 59 || tm.tm_min > 59 || tm.tm_hour > 23 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_mon > 11 || year < YEAR_MIN ||
	    year > YEAR_MAX) {
		log_guest(&rtc->rl, "rtc_cmos: invalid time %u-%d-%d %u:%d:%d set, ignored", year,
			  tm.tm_mon + 1, tm.tm_mday, hour, tm.tm_min, tm.tm_sec);
		return;
	}
	secs = timegm(&tm);
	rtc->offset_ns = (int64_t)secs * NSEC - rtc->clock.now_ns(rtc->clock.opaque);
	rtc->last_ns = guest_ns(rtc); /* a new time is no elapsed time */
}

static uint8_t rtc_read_reg(struct rtc_cmos *rtc, unsigned i)
{
	uint8_t regs[RTC_CMOS_RAM_LEN], v;
	int64_t t;

	if (is_time_reg(i)) {
		if (rtc->cmos[REG_B] & B_SET)
			return rtc->cmos[i];
		time_regs(rtc, guest_ns(rtc), regs);
		return regs[i];
	}
	switch (i) {
	case REG_A:
		v = rtc->cmos[REG_A] & ~A_UIP;
		if (!(rtc->cmos[REG_B] & B_SET)) {
			t = guest_ns(rtc) % NSEC;
			if (t < 0)
				t += NSEC;
			if (t >= NSEC - UIP_NS)
				v |= A_UIP;
		}
		return v;
	case REG_C: /* read clears, and lowers IRQ 8 */
		v = rtc->cmos[REG_C];
		rtc->cmos[REG_C] = 0;
		rtc->irq_level = 0;
		irq_line_set(rtc->irq, 0);
		return v;
	case REG_D:
		return D_VRT;
	}
	return rtc->cmos[i];
}

static void rtc_write_reg(struct rtc_cmos *rtc, unsigned i, uint8_t v)
{
	uint8_t old;

	if (is_time_reg(i)) {
		if (rtc->cmos[REG_B] & B_SET) {
			rtc->cmos[i] = v;
		} else {
			latch_time(rtc);
			rtc->cmos[i] = v;
			commit_time(rtc);
		}
		return;
	}
	switch (i) {
	case REG_A:
		rtc->cmos[REG_A] = v & ~A_UIP;
		break;
	case REG_B:
		old = rtc->cmos[REG_B];
		if (v & B_SET)
			v &= ~B_UIE; /* SET clears UIE */
		rtc->cmos[REG_B] = v;
		if (!(old & B_SET) && (v & B_SET)) {
			latch_time(rtc);
		} else if ((old & B_SET) && !(v & B_SET)) {
			commit_time(rtc);
		}
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		rtc->cmos[i] = v;
		break;
	}
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rtc_cmos *rtc = opaque;
	uint8_t v;

	if (size != 1 || offset != 1)
		return ~0ull; /* the index port is write-only */
	pthread_mutex_lock(&rtc->lock);
	update_flags(rtc);
	v = rtc_read_reg(rtc, rtc->index);
	update_irq_and_timer(rtc);
	pthread_mutex_unlock(&rtc->lock);
	return v;
}

static void rtc_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct rtc_cmos *rtc = opaque;

	if (size != 1 || offset >= RTC_CMOS_LEN) {
		log_guest(&rtc->rl, "rtc_cmos: %u-byte write at offset %llu ignored", size,
			  (unsigned long long)offset);
		return;
	}
	pthread_mutex_lock(&rtc->lock);
	if (offset == 0) {
		rtc->index = (uint8_t)value & 0x7f; /* bit 7: NMI mask, ignored */
	} else {
		update_flags(rtc);
		rtc_write_reg(rtc, rtc->index, (uint8_t)value);
		update_flags(rtc); /* newly enabled interrupts see pending flags */
		update_irq_and_timer(rtc);
	}
	pthread_mutex_unlock(&rtc->lock);
}

const struct bus_region_ops rtc_cmos_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

static void rtc_reset_regs(struct rtc_cmos *rtc)
{
	rtc->index = 0;
	rtc->cmos[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
	rtc->cmos[REG_B] = B_24H; /* BCD, 24-hour, no interrupts */
	rtc->cmos[REG_C] = 0;
	rtc->cmos[REG_D] = D_VRT;
	rtc->last_ns = guest_ns(rtc);
	rtc->irq_level = 0;
	irq_line_set(rtc->irq, 0);
	update_irq_and_timer(rtc);
}

struct rtc_cmos *rtc_cmos_create(struct irq_line *irq, const struct rtc_clock *clock)
{
	struct rtc_cmos *rtc = calloc(1, sizeof(*rtc));
	int err;

	if (!rtc) {
		errno = ENOMEM;
		return NULL;
	}
	err = pthread_mutex_init(&rtc->lock, NULL);
	if (err) {
		free(rtc);
		errno = err;
		return NULL;
	}
	rtc->irq = irq;
	rtc->armed_ns = -1;
	if (clock && clock->now_ns)
		rtc->clock = *clock;
	else
		rtc->clock.now_ns = realtime_ns;
	rtc_reset_regs(rtc);
	return rtc;
}

void rtc_cmos_destroy(struct rtc_cmos *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

void rtc_cmos_set_timer(struct rtc_cmos *rtc, const struct rtc_timer *timer)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->timer = timer ? *timer : (struct rtc_timer){ 0 };
	rtc->armed_ns = -1;
	update_irq_and_timer(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_cmos_timer_fired(struct rtc_cmos *rtc)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->armed_ns = -1; /* the timer is one-shot: it is disarmed now */
	update_flags(rtc);
	update_irq_and_timer(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

int rtc_cmos_set_ram(struct rtc_cmos *rtc, unsigned index, uint8_t value)
{
	if (index >= RTC_CMOS_RAM_LEN || index <= REG_D || index == RTC_CMOS_CENTURY)
		return -EINVAL;
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[index] = value;
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

/* A reset keeps the RAM and the clock (battery-backed); registers B-D take their power-on values.
 */
static void rtc_dev_reset(void *dev)
{
	struct rtc_cmos *rtc = dev;

	pthread_mutex_lock(&rtc->lock);
	if (rtc->cmos[REG_B] & B_SET)
		commit_time(rtc);
	rtc_reset_regs(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

/* Payload v1: index u8, cmos[128], offset_ns u64 (two's complement). */
static void rtc_dev_save(void *dev, struct state_writer *w)
{
	struct rtc_cmos *rtc = dev;

	pthread_mutex_lock(&rtc->lock);
	state_begin(w, rtc_cmos_device_ops.name, 0, RTC_VERSION);
	state_put_u8(w, rtc->index);
	state_put_bytes(w, rtc->cmos, sizeof(rtc->cmos));
	state_put_u64(w, (uint64_t)rtc->offset_ns);
	state_end(w);
	pthread_mutex_unlock(&rtc->lock);
}

static int rtc_dev_load(void *dev, struct state_reader *r)
{
	struct rtc_cmos *rtc = dev;
	uint8_t index, cmos[RTC_CMOS_RAM_LEN];
	int64_t offset_ns;

	index = state_get_u8(r);
	state_get_bytes(r, cmos, sizeof(cmos));
	offset_ns = (int64_t)state_get_u64(r);
	if (state_done(r))
		return -EINVAL;
	if (index >= RTC_CMOS_RAM_LEN || (cmos[REG_A] & A_UIP) || cmos[REG_D] != D_VRT ||
	    (cmos[REG_C] & 0x0f))
		return -EINVAL;
	/* the offset must keep the guest's year within what a guest could set */
	if (offset_ns > (int64_t)(YEAR_MAX - 1970 + 1) * 366 * 86400 * NSEC ||
	    offset_ns < -(int64_t)260 * 366 * 86400 * NSEC)
		return -EINVAL;
	pthread_mutex_lock(&rtc->lock);
	rtc->index = index;
	memcpy(rtc->cmos, cmos, sizeof(cmos));
	rtc->offset_ns = offset_ns;
	rtc->last_ns = guest_ns(rtc);
	rtc->irq_level = !!(cmos[REG_C] & C_IRQF);
	irq_line_set(rtc->irq, rtc->irq_level);
	update_irq_and_timer(rtc);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

static void rtc_dev_destroy(void *dev)
{
	rtc_cmos_destroy(dev);
}

const struct device_ops rtc_cmos_device_ops = {
	.name = "rtc_cmos",
	.version = RTC_VERSION,
	.reset = rtc_dev_reset,
	.save = rtc_dev_save,
	.load = rtc_dev_load,
	.destroy = rtc_dev_destroy,
};
