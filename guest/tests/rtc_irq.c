/* rtc_irq.c — KVM-tier test guest: the CMOS RTC's interrupts reach a guest that does not poll the
 * RTC. It turns on the periodic interrupt (register A rate 9: 128 Hz) and then the alarm interrupt
 * (every second: all alarm registers "don't care"), and watches IRQ 8 only at the PIC, with the
 * CPU's interrupts off: the slave PIC in poll mode (OCW3 with P set) answers the highest pending
 * request and acknowledges it. Each IRQ 8 is then answered by reading register C, which lowers the
 * line. Without a timer behind the RTC its flags would change only when the guest reads them, and
 * no IRQ 8 would come. Prints the counts; passes with at least 10 periodic interrupts in 0.5 s (128
 * would be due; a busy host coalesces some) and an alarm within 2.5 s. */
#include "../lib/rt.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71

static uint8_t cmos_read(uint8_t reg)
{
	rt_outb(CMOS_INDEX, reg);
	return rt_inb(CMOS_DATA);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	rt_outb(CMOS_INDEX, reg);
	rt_outb(CMOS_DATA, v);
}

/* IRQ 8 pending at the slave PIC? Poll mode reads and acknowledges the highest request. */
static bool irq8_pending(void)
{
	uint8_t v;

	rt_outb(0xa0, 0x0c); /* OCW3: poll */
	v = rt_inb(0xa0);
	return (v & 0x80) && (v & 7) == 0;
}

/* Count IRQ 8s for @us microseconds, answering each by reading register C; ORs C into *@flags. */
static unsigned count_irqs(uint64_t us, uint8_t *flags)
{
	uint64_t end = rt_rdtsc() + us * rt_tsc_khz / 1000;
	unsigned n = 0;

	while (rt_rdtsc() < end) {
		if (irq8_pending()) {
			*flags |= cmos_read(0x0c);
			n++;
		}
	}
	return n;
}

int guest_main(void)
{
	uint8_t flags = 0;
	unsigned periodic, alarms;

	/* PIC: unmask IRQ 2 (the cascade) on the master and IRQ 8 on the slave; CPU interrupts stay
	 * off. */
	rt_outb(0x21, 0xfb);
	rt_outb(0xa1, 0xfe);
	cmos_read(0x0c); /* clear stale flags */
	cmos_write(0x0a, 0x29); /* divider on, rate 9: 32768 >> 8 = 128 Hz */
	cmos_write(0x0b, (uint8_t)((cmos_read(0x0b) & 0x0f) | 0x40)); /* PIE */
	periodic = count_irqs(500000, &flags);
	rt_printf("rtc_irq: %u periodic interrupts in 0.5 s (flags 0x%x)\n", periodic, flags);
	cmos_write(0x0b, (uint8_t)(cmos_read(0x0b) & 0x0f)); /* all interrupts off */
	cmos_read(0x0c);
	cmos_write(0x01, 0xc0); /* alarm seconds, minutes, hours: don't care = every second */
	cmos_write(0x03, 0xc0);
	cmos_write(0x05, 0xc0);
	flags = 0;
	cmos_write(0x0b, (uint8_t)((cmos_read(0x0b) & 0x0f) | 0x20)); /* AIE */
	alarms = count_irqs(2500000, &flags);
	cmos_write(0x0b, (uint8_t)(cmos_read(0x0b) & 0x0f));
	rt_printf("rtc_irq: %u alarm interrupts in 2.5 s (flags 0x%x)\n", alarms, flags);
	if (periodic >= 10 && alarms >= 1 && (flags & 0xa0) == 0xa0) {
		rt_printf("rtc_irq: pass\n");
		rt_exit(RT_EXIT_PASS);
	}
	rt_printf("rtc_irq: fail\n");
	rt_exit(RT_EXIT_FAIL);
}
