/* boot.c — C entry of the boot CPU: copies the multiboot information out of low memory, sets up the
 * console, this CPU's descriptor tables and the TSC clock, then runs the guest and exits with its
 * result. */
#include "rt.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
/* multiboot info flags (Multiboot §3.3) */
#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)

struct rt_boot_info rt_boot;
uint64_t rt_tsc_khz;
bool rt_tsc_calibrated;

extern uint8_t __bss_end[];
static uintptr_t alloc_next, alloc_end;

void rt_cpu_init(struct rt_cpu *cpu);
void rt_idt_build(void);
void rt_main(uint32_t magic, uint32_t info_gpa);

static uint32_t rd32(uintptr_t gpa)
{
	uint32_t v;
	memcpy(&v, (const void *)gpa, 4);
	return v;
}

static uint64_t rd64(uintptr_t gpa)
{
	uint64_t v;
	memcpy(&v, (const void *)gpa, 8);
	return v;
}

/* Copies what the guests use out of the multiboot info; it may sit anywhere in low memory that is
 * reused later. */
static void copy_boot_info(uint32_t magic, uint32_t info_gpa)
{
	rt_boot.magic = magic;
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC || !info_gpa)
		return;
	uint32_t flags = rd32(info_gpa);
	rt_boot.flags = flags;
	if (flags & MBI_MEM) {
		rt_boot.mem_lower_kb = rd32(info_gpa + 4);
		rt_boot.mem_upper_kb = rd32(info_gpa + 8);
	}
	if ((flags & MBI_CMDLINE) && rd32(info_gpa + 16)) {
		const char *s = (const char *)(uintptr_t)rd32(info_gpa + 16);
		size_t i = 0;
		for (; i + 1 < sizeof(rt_boot.cmdline) && s[i]; i++)
			rt_boot.cmdline[i] = s[i];
		rt_boot.cmdline[i] = '\0';
		rt_boot.have_cmdline = true;
	}
	if ((flags & MBI_MODS) && rd32(info_gpa + 24)) {
		uint32_t count = rd32(info_gpa + 20), addr = rd32(info_gpa + 24);
		for (uint32_t m = 0; m < count && m < RT_MAX_MODULES; m++) {
			struct rt_module *mod = &rt_boot.modules[rt_boot.n_modules++];
			uintptr_t e =
				(uintptr_t)addr + 16 * m; /* mod_start, mod_end, string, reserved */
			mod->start = rd32(e);
			mod->end = rd32(e + 4);
			const char *s = (const char *)(uintptr_t)rd32(e + 8);
			size_t i = 0;
			for (; s && i + 1 < sizeof(mod->name) && s[i]; i++)
				mod->name[i] = s[i];
			mod->name[i] = '\0';
		}
	}
	if (flags & MBI_MMAP) {
		uint32_t len = rd32(info_gpa + 44), addr = rd32(info_gpa + 48);
		uintptr_t p = addr, end = (uintptr_t)addr + len;
		while (p + 24 <= end && rt_boot.n_mmap < RT_MAX_MMAP) {
			uint32_t size = rd32(p); /* size of the entry, not counting this field */
			struct rt_mmap_entry *e = &rt_boot.mmap[rt_boot.n_mmap++];
			e->base = rd64(p + 4);
			e->len = rd64(p + 12);
			e->type = rd32(p + 20);
			if (size < 20)
				break;
			p += (uintptr_t)size + 4;
		}
	}
}

bool rt_cmdline_has(const char *word)
{
	size_t n = strlen(word);
	const char *s = rt_boot.cmdline;

	while (*s) {
		while (*s == ' ')
			s++;
		size_t len = 0;
		while (s[len] && s[len] != ' ')
			len++;
		if (len == n && !memcmp(s, word, n))
			return true;
		s += len;
	}
	return false;
}

unsigned long rt_cmdline_num(const char *key, unsigned long dflt)
{
	size_t kl = strlen(key);

	for (const char *p = rt_boot.cmdline; *p; p++) {
		if ((p != rt_boot.cmdline && p[-1] != ' ') || memcmp(p, key, kl) != 0)
			continue;
		unsigned long v = 0;
		for (p += kl; *p >= '0' && *p <= '9'; p++)
			v = v * 10 + (unsigned long)(*p - '0');
		return v;
	}
	return dflt;
}

static void alloc_init(void)
{
	uintptr_t start = ((uintptr_t)__bss_end + 4095) & ~(uintptr_t)4095;

	alloc_next = alloc_end = start;
	for (unsigned int i = 0; i < rt_boot.n_mmap; i++) {
		const struct rt_mmap_entry *e = &rt_boot.mmap[i];
		if (e->type == 1 && e->base <= start && start < e->base + e->len)
			alloc_end = (uintptr_t)(e->base + e->len);
	}
	if (alloc_end == start && rt_boot.mem_upper_kb) /* no map: mem_upper is RAM above 1 MiB */
		alloc_end = 0x100000 + (uintptr_t)rt_boot.mem_upper_kb * 1024;
	if (alloc_end > 0xC0000000)
		alloc_end = 0xC0000000;
}

void *rt_alloc(size_t bytes, size_t align)
{
	uintptr_t p = (alloc_next + align - 1) & ~(uintptr_t)(align - 1);

	/* Step over multiboot modules (QEMU loads them right after the image, vmon at the top of
	 * RAM). */
	for (unsigned int pass = 0; pass <= rt_boot.n_modules; pass++) {
		bool moved = false;
		for (unsigned int i = 0; i < rt_boot.n_modules; i++) {
			const struct rt_module *m = &rt_boot.modules[i];
			if (p < m->end && p + bytes > m->start) {
				p = ((uintptr_t)m->end + align - 1) & ~(uintptr_t)(align - 1);
				moved = true;
			}
		}
		if (!moved)
			break;
	}
	if (p < alloc_next || p + bytes < p || p + bytes > alloc_end)
		return NULL;
	alloc_next = p + bytes;
	return (void *)p;
}

/* TSC calibration against PIT channel 2 (8254 datasheet: mode 0 counts down from the loaded value,
 * gate = port 0x61 bit 0; a latch command 0x80 on port 0x43 freezes channel 2's count for two reads
 * of port 0x42).  Each sample pairs a latched count with the TSC read around it and keeps the
 * tightest of three pairs, so that a vCPU preempted between samples (likely on a shared host) does
 * not skew the result. */
#define PIT_HZ 1193182u

struct pit_sample {
	uint64_t tsc;
	uint16_t count;
};

static uint16_t pit2_count(void)
{
	rt_outb(0x43, 0x80);
	uint8_t lo = rt_inb(0x42);
	uint8_t hi = rt_inb(0x42);
	return (uint16_t)(lo | hi << 8);
}

static void pit2_sample(struct pit_sample *s)
{
	uint64_t best = ~0ull;

	for (int i = 0; i < 3; i++) {
		uint64_t t0 = rt_rdtsc();
		uint16_t c = pit2_count();
		uint64_t t1 = rt_rdtsc();
		if (t1 - t0 < best) {
			best = t1 - t0;
			s->tsc = t0 + (t1 - t0) / 2;
			s->count = c;
		}
	}
}

/* One ~10 ms measurement; returns TSC kHz, or 0 when no PIT counts. */
static uint64_t pit_measure_khz(void)
{
	const uint16_t want_ticks = PIT_HZ / 100;
	struct pit_sample a, b;
	uint8_t ctl = rt_inb(0x61);

	rt_outb(0x61, (uint8_t)((ctl & ~0x02) | 0x01)); /* gate high, speaker off */
	rt_outb(0x43, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
	rt_outb(0x42, 0xff);
	rt_outb(0x42, 0xff);
	pit2_sample(&a);
	unsigned int polls = 0;
	uint16_t ticks = 0;
	while (ticks < want_ticks && polls < 100000) {
		ticks = (uint16_t)(a.count - pit2_count());
		if (++polls == 2000 && ticks == 0)
			break; /* the count never moves: no PIT */
	}
	pit2_sample(&b);
	rt_outb(0x61, ctl);
	ticks = (uint16_t)(a.count - b.count);
	if (ticks < want_ticks)
		return 0;
	uint64_t khz = (b.tsc - a.tsc) * PIT_HZ / ((uint64_t)ticks * 1000);
	return khz >= 100000 && khz <= 10000000 ? khz : 0;
}

static void tsc_calibrate(void)
{
	uint64_t k[3];

	for (int i = 0; i < 3; i++) {
		k[i] = pit_measure_khz();
		if (!k[i])
			break;
	}
	if (k[0] && k[1] && k[2]) { /* median of three */
		uint64_t lo = k[0] < k[1] ? k[0] : k[1], hi = k[0] < k[1] ? k[1] : k[0];
		rt_tsc_khz = k[2] < lo ? lo : k[2] > hi ? hi : k[2];
		rt_tsc_calibrated = true;
		return;
	}
	uint32_t r[4];
	rt_cpuid(0, 0, r);
	if (r[0] >= 0x16) {
		rt_cpuid(0x16, 0, r);
		if (r[0]) {
			rt_tsc_khz = (uint64_t)r[0] * 1000;
			return;
		}
	}
	rt_tsc_khz = 2000000; /* a guess: waits stay bounded, only their length is off */
}

uint64_t rt_now_us(void)
{
	return rt_rdtsc() * 1000 / rt_tsc_khz;
}

void rt_delay_us(uint64_t us)
{
	uint64_t end = rt_rdtsc() + us * rt_tsc_khz / 1000;
	while (rt_rdtsc() < end)
		rt_pause();
}

void rt_main(uint32_t magic, uint32_t info_gpa)
{
	copy_boot_info(magic, info_gpa);
	rt_serial_init();
	if (rt_boot.magic != MULTIBOOT_BOOTLOADER_MAGIC)
		rt_printf("rt: warning: entered with EAX 0x%x, not the multiboot magic\n", magic);
	alloc_init();
	rt_idt_build();
	rt_cpus[0].index = 0;
	rt_cpus[0].apic_id = rt_lapic_id();
	rt_cpus[0].apic_id_seen = rt_cpus[0].apic_id;
	rt_cpu_init(&rt_cpus[0]);
	rt_cpus[0].online = 1;
	rt_ncpus = 1;
	if (rt_cmdline_has("ring3=sysret"))
		rt_user_entry_mode = 1;
	else if (rt_cmdline_has("ring3=iret"))
		rt_user_entry_mode = 0;
	if (rt_cmdline_has("ring3-return=syscall"))
		rt_user_return_mode = 1;
	tsc_calibrate();
	rt_exit((uint32_t)guest_main());
}
