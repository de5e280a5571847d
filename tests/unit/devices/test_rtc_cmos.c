/* test_rtc_cmos.c — MC146818 RTC against a fixed clock: BCD/binary, 12/24h, SET, UIP, CMOS RAM. */
#include <errno.h>
#include <time.h>

#include "devices/rtc_cmos.h"
#include "fake_platform.h"
#include "harness.h"

#define NS 1000000000ll

static int64_t fake_now_ns;

static int64_t fake_clock(void *opaque)
{
	return fake_now_ns;
}

static const struct rtc_clock clock_fixed = { .now_ns = fake_clock };

static int64_t utc_ns(int y, int mon, int d, int h, int m, int s)
{
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mon - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = m,
			 .tm_sec = s };

	return (int64_t)timegm(&tm) * NS;
}

static uint8_t cmos_rd(struct rtc_cmos *rtc, uint8_t idx)
{
	rtc_cmos_ops.write(rtc, 0, idx, 1);
	return (uint8_t)rtc_cmos_ops.read(rtc, 1, 1);
}

static void cmos_wr(struct rtc_cmos *rtc, uint8_t idx, uint8_t v)
{
	rtc_cmos_ops.write(rtc, 0, idx, 1);
	rtc_cmos_ops.write(rtc, 1, v, 1);
}

TEST(rtc_cmos_bcd_time_from_clock)
{
	struct rtc_cmos *rtc;

	fake_now_ns = utc_ns(2026, 11, 22, 16, 13, 54); /* a Sunday */
	rtc = rtc_cmos_create(NULL, &clock_fixed);
	REQUIRE(rtc);
	CHECK_EQ(cmos_rd(rtc, 0x0b), 0x02); /* BCD, 24h */
	CHECK_EQ(cmos_rd(rtc, 0x00), 0x54);
	CHECK_EQ(cmos_rd(rtc, 0x02), 0x13);
	CHECK_EQ(cmos_rd(rtc, 0x04), 0x16);
	CHECK_EQ(cmos_rd(rtc, 0x06), 0x01);
	CHECK_EQ(cmos_rd(rtc, 0x07), 0x22);
	CHECK_EQ(cmos_rd(rtc, 0x08), 0x11);
	CHECK_EQ(cmos_rd(rtc, 0x09), 0x26);
	CHECK_EQ(cmos_rd(rtc, RTC_CMOS_CENTURY), 0x20);
	CHECK_EQ(cmos_rd(rtc, 0x0d), 0x80);
	fake_now_ns += 3 * NS; /* the clock runs */
	CHECK_EQ(cmos_rd(rtc, 0x00), 0x57);
	rtc_cmos_destroy(rtc);
}

TEST(rtc_cmos_binary_and_12h_modes)
{
	struct rtc_cmos *rtc;

	fake_now_ns = utc_ns(2026, 11, 22, 16, 13, 54);
	rtc = rtc_cmos_create(NULL, &clock_fixed);
	REQUIRE(rtc);
	cmos_wr(rtc, 0x0b, 0x06); /* binary, 24h */
	CHECK_EQ(cmos_rd(rtc, 0x00), 54);
	CHECK_EQ(cmos_rd(rtc, 0x04), 16);
	CHECK_EQ(cmos_rd(rtc, 0x09), 26);
	CHECK_EQ(cmos_rd(rtc, RTC_CMOS_CENTURY), 20);
	cmos_wr(rtc, 0x0b, 0x04); /* binary, 12h */
	CHECK_EQ(cmos_rd(rtc, 0x04), 0x80 | 4); /* 4 PM */
	cmos_wr(rtc, 0x0b, 0x00); /* BCD, 12h */
	CHECK_EQ(cmos_rd(rtc, 0x04), 0x84);
	fake_now_ns = utc_ns(2026, 11, 22, 0, 30, 0);
	CHECK_EQ(cmos_rd(rtc, 0x04), 0x12); /* 12 AM */
	fake_now_ns = utc_ns(2026, 11, 22, 12, 30, 0);
	CHECK_EQ(cmos_rd(rtc, 0x04), 0x92); /* 12 PM */
	rtc_cmos_destroy(rtc);
}

TEST(rtc_cmos_set_bit_freezes_and_commits)
{
	struct rtc_cmos *rtc;

	fake_now_ns = utc_ns(2026, 11, 22, 16, 13, 54);
	rtc = rtc_cmos_create(NULL, &clock_fixed);
	REQUIRE(rtc);
	cmos_wr(rtc, 0x0b, 0x82); /* SET */
	fake_now_ns += 5 * NS;
	CHECK_EQ(cmos_rd(rtc, 0x00), 0x54); /* frozen while SET */
	cmos_wr(rtc, 0x00, 0x30);
	cmos_wr(rtc, 0x02, 0x45);
	cmos_wr(rtc, 0x04, 0x09);
	cmos_wr(rtc, 0x07, 0x01);
	cmos_wr(rtc, 0x08, 0x02);
	cmos_wr(rtc, 0x09, 0x99);
	cmos_wr(rtc, RTC_CMOS_CENTURY, 0x19);
	CHECK_EQ(cmos_rd(rtc, 0x02), 0x45);
	cmos_wr(rtc, 0x0b, 0x02); /* commit */
	CHECK_EQ(cmos_rd(rtc, 0x00), 0x30);
	CHECK_EQ(cmos_rd(rtc, 0x02), 0x45);
	CHECK_EQ(cmos_rd(rtc, 0x04), 0x09);
	CHECK_EQ(cmos_rd(rtc, 0x07), 0x01);
	CHECK_EQ(cmos_rd(rtc, 0x08), 0x02);
	CHECK_EQ(cmos_rd(rtc, 0x09), 0x99);
	CHECK_EQ(cmos_rd(rtc, RTC_CMOS_CENTURY), 0x19);
	CHECK_EQ(cmos_rd(rtc, 0x06), 0x02); /* 1999-02-01 was a Monday */
	fake_now_ns += 61 * NS; /* the new time runs on */
	CHECK_EQ(cmos_rd(rtc, 0x00), 0x31);
	CHECK_EQ(cmos_rd(rtc, 0x02), 0x46);
	rtc_cmos_destroy(rtc);
}

TEST(rtc_cmos_invalid_time_is_ignored)
{
	struct rtc_cmos *rtc;

	fake_now_ns = utc_ns(2026, 11, 22, 16, 13, 54);
	rtc = rtc_cmos_create(NULL, &clock_fixed);
	REQUIRE(rtc);
	cmos_wr(rtc, 0x0b, 0x82);
	cmos_wr(rtc, 0x08, 0x13); /* month 13 */
	cmos_wr(rtc, RTC_CMOS_CENTURY, 0xff);
	cmos_wr(rtc, 0x0b, 0x02);
	CHECK_EQ(cmos_rd(rtc, 0x08), 0x11); /* unchanged */
	CHECK_EQ(cmos_rd(rtc, 0x09), 0x26);
	rtc_cmos_destroy(rtc);
}

TEST(rtc_cmos_registers_a_c_d)
{
	struct rtc_cmos *rtc;
	struct fake_irq irq;

	fake_irq_init(&irq);
	irq.level = 1;
	fake_now_ns = utc_ns(2026, 11, 22, 16, 13, 54);
	rtc = rtc_cmos_create(&irq.line, &clock_fixed);
	REQUIRE(rtc);
	CHECK_EQ(cmos_rd(rtc, 0x0a), 0x26);
	fake_now_ns += NS - 100000; /* 100 us before the update: UIP */
	CHECK_EQ(cmos_rd(rtc, 0x0a), 0xa6);
	fake_now_ns += 200000;
	CHECK_EQ(cmos_rd(rtc, 0x0a), 0x26);
	cmos_wr(rtc, 0x0a, 0xff); /* UIP is read-only */
	CHECK_EQ(cmos_rd(rtc, 0x0a) & 0x7f, 0x7f);
	irq.level = 1;
	/* a second ended and periodic boundaries passed: flags, but no IRQF (nothing enabled) */
	CHECK_EQ(cmos_rd(rtc, 0x0c), 0x50);
	CHECK_EQ(irq.level, 0); /* reading C lowers IRQ 8 */
	CHECK_EQ(cmos_rd(rtc, 0x0c), 0x00); /* and clears it */
	cmos_wr(rtc, 0x0d, 0x00);
	CHECK_EQ(cmos_rd(rtc, 0x0d), 0x80);
	rtc_cmos_destroy(rtc);
}

TEST(rtc_cmos_ram_and_nmi_bit)
{
	struct rtc_cmos *rtc;

	rtc = rtc_cmos_create(NULL, NULL); /* the host's clock */
	REQUIRE(rtc);
	cmos_wr(rtc, 0x80 | 0x40, 0xab); /* NMI mask bit ignored */
	CHECK_EQ(cmos_rd(rtc, 0x40), 0xab);
	CHECK_EQ(rtc_cmos_set_ram(rtc, 0x34, 0x12), 0);
	CHECK_EQ(cmos_rd(rtc, 0x34), 0x12);
	CHECK_EQ(rtc_cmos_set_ram(rtc, 0x00, 1), -EINVAL);
	CHECK_EQ(rtc_cmos_set_ram(rtc, 128, 1), -EINVAL);
	CHECK_EQ((uint8_t)rtc_cmos_ops.read(rtc, 0, 1), 0xff); /* index port */
	CHECK_EQ(rtc_cmos_ops.read(rtc, 1, 2), ~0ull);
	rtc_cmos_destroy(rtc);
}

TEST(rtc_cmos_host_clock_is_close)
{
	struct rtc_cmos *rtc = rtc_cmos_create(NULL, NULL);
	time_t now = time(NULL);
	struct tm tm;
	uint8_t min;

	REQUIRE(rtc);
	gmtime_r(&now, &tm);
	min = cmos_rd(rtc, 0x02);
	/* within the same or the next minute, in BCD */
	CHECK(min == (((tm.tm_min / 10) << 4) | (tm.tm_min % 10)) ||
	      min == ((((tm.tm_min + 1) % 60 / 10) << 4) | ((tm.tm_min + 1) % 60 % 10)));
	rtc_cmos_destroy(rtc);
}

TEST(rtc_cmos_save_load_keeps_offset)
{
	struct rtc_cmos *a, *b;
	struct state_writer w;
	struct state_reader r, p;
	struct state_section sec;

	fake_now_ns = utc_ns(2026, 11, 22, 16, 13, 54);
	a = rtc_cmos_create(NULL, &clock_fixed);
	b = rtc_cmos_create(NULL, &clock_fixed);
	REQUIRE(a && b);
	cmos_wr(a, 0x0b, 0x82);
	cmos_wr(a, 0x04, 0x03);
	cmos_wr(a, 0x0b, 0x02);
	cmos_wr(a, 0x50, 0x5a);
	state_writer_init(&w);
	rtc_cmos_device_ops.save(a, &w);
	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &sec) == 1);
	for (size_t cut = 0; cut < sec.payload.len; cut++) {
		state_reader_init(&p, sec.payload.buf, cut);
		CHECK_EQ(rtc_cmos_device_ops.load(b, &p), -EINVAL);
	}
	CHECK_EQ(cmos_rd(b, 0x04), 0x16);
	CHECK_EQ(rtc_cmos_device_ops.load(b, &sec.payload), 0);
	CHECK_EQ(cmos_rd(b, 0x04), 0x03);
	CHECK_EQ(cmos_rd(b, 0x50), 0x5a);
	state_writer_free(&w);
	rtc_cmos_destroy(a);
	rtc_cmos_destroy(b);
}

struct fake_timer {
	int64_t deadline;
	unsigned arms;
};

static void fake_timer_arm(void *opaque, int64_t deadline_ns)
{
	struct fake_timer *t = opaque;

	t->deadline = deadline_ns;
	t->arms++;
}

/* fire - the one-shot timer expires: time reaches its deadline, it disarms, the RTC hears. */
static void fire(struct fake_timer *ft, struct rtc_cmos *rtc)
{
	fake_now_ns = ft->deadline;
	ft->deadline = -1;
	rtc_cmos_timer_fired(rtc);
}

TEST(rtc_cmos_update_interrupt_via_timer)
{
	struct fake_timer ft = { .deadline = -1 };
	struct rtc_timer timer = { .arm = fake_timer_arm, .opaque = &ft };
	struct fake_irq irq;
	struct rtc_cmos *rtc;

	fake_irq_init(&irq);
	fake_now_ns = utc_ns(2026, 11, 22, 16, 13, 54) + NS / 4;
	rtc = rtc_cmos_create(&irq.line, &clock_fixed);
	REQUIRE(rtc);
	rtc_cmos_set_timer(rtc, &timer);
	CHECK_EQ(ft.deadline, -1); /* nothing enabled: not armed */
	cmos_rd(rtc, 0x0c);
	cmos_wr(rtc, 0x0b, 0x12); /* UIE */
	CHECK_EQ(ft.deadline, utc_ns(2026, 11, 22, 16, 13, 55));
	CHECK_EQ(irq.level, 0);
	fire(&ft, rtc);
	CHECK_EQ(irq.level, 1);
	CHECK_EQ(irq.raises, 1);
	CHECK_EQ(ft.deadline, -1); /* waits for the C read */
	CHECK_EQ(cmos_rd(rtc, 0x0c), 0xd0); /* IRQF, UF; and PF (1024 Hz, not enabled) */
	CHECK_EQ(irq.level, 0);
	CHECK_EQ(ft.deadline, utc_ns(2026, 11, 22, 16, 13, 56));
	/* SET stops updates and their interrupt */
	cmos_wr(rtc, 0x0b, 0x92);
	CHECK_EQ(ft.deadline, -1);
	CHECK_EQ(cmos_rd(rtc, 0x0b) & 0x10, 0); /* and clears UIE */
	rtc_cmos_destroy(rtc);
}

TEST(rtc_cmos_periodic_interrupt_rate)
{
	struct fake_timer ft = { .deadline = -1 };
	struct rtc_timer timer = { .arm = fake_timer_arm, .opaque = &ft };
	struct fake_irq irq;
	struct rtc_cmos *rtc;
	int64_t t0 = utc_ns(2026, 11, 22, 16, 13, 54);

	fake_irq_init(&irq);
	fake_now_ns = t0;
	rtc = rtc_cmos_create(&irq.line, &clock_fixed);
	REQUIRE(rtc);
	rtc_cmos_set_timer(rtc, &timer);
	cmos_wr(rtc, 0x0a, 0x2f); /* RS 15: 2 Hz */
	cmos_wr(rtc, 0x0b, 0x42); /* PIE */
	CHECK_EQ(ft.deadline, t0 + NS / 2);
	fire(&ft, rtc);
	CHECK_EQ(irq.level, 1);
	CHECK_EQ(cmos_rd(rtc, 0x0c) & 0xc0, 0xc0);
	CHECK_EQ(ft.deadline, t0 + NS);
	cmos_wr(rtc, 0x0a, 0x26); /* RS 6: 1024 Hz */
	CHECK_EQ(ft.deadline, t0 + (513 * NS + 1023) / 1024); /* 1024 Hz ticks align to seconds */
	cmos_wr(rtc, 0x0b, 0x02);
	CHECK_EQ(ft.deadline, -1);
	rtc_cmos_destroy(rtc);
}

TEST(rtc_cmos_alarm_interrupt)
{
	struct fake_timer ft = { .deadline = -1 };
	struct rtc_timer timer = { .arm = fake_timer_arm, .opaque = &ft };
	struct fake_irq irq;
	struct rtc_cmos *rtc;

	fake_irq_init(&irq);
	fake_now_ns = utc_ns(2026, 11, 22, 16, 13, 54);
	rtc = rtc_cmos_create(&irq.line, &clock_fixed);
	REQUIRE(rtc);
	rtc_cmos_set_timer(rtc, &timer);
	cmos_wr(rtc, 0x01, 0x56); /* alarm at hh:mm:56, any hour and minute */
	cmos_wr(rtc, 0x03, 0xff);
	cmos_wr(rtc, 0x05, 0xc0);
	cmos_wr(rtc, 0x0b, 0x22); /* AIE */
	fire(&ft, rtc); /* :55 */
	CHECK_EQ(irq.level, 0);
	fire(&ft, rtc); /* :56 */
	CHECK_EQ(irq.level, 1);
	CHECK_EQ(cmos_rd(rtc, 0x0c), 0xf0); /* IRQF, AF, UF (and PF, not enabled) */
	rtc_cmos_destroy(rtc);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(rtc_cmos_bcd_time_from_clock)
	HARNESS_T(rtc_cmos_binary_and_12h_modes)
	HARNESS_T(rtc_cmos_set_bit_freezes_and_commits)
	HARNESS_T(rtc_cmos_invalid_time_is_ignored)
	HARNESS_T(rtc_cmos_registers_a_c_d)
	HARNESS_T(rtc_cmos_ram_and_nmi_bit)
	HARNESS_T(rtc_cmos_host_clock_is_close)
	HARNESS_T(rtc_cmos_save_load_keeps_offset)
	HARNESS_T(rtc_cmos_update_interrupt_via_timer)
	HARNESS_T(rtc_cmos_periodic_interrupt_rate)
	HARNESS_T(rtc_cmos_alarm_interrupt)
)
/* clang-format on */
