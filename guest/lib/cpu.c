/* cpu.c — per-CPU descriptor tables (GDT with user segments and a TSS, a shared IDT that reports
 * exceptions), the SYSCALL MSRs, xAPIC access and INIT-SIPI-SIPI bring-up of the other CPUs.
 * References: Intel SDM Vol. 3A §3.4.5 (segment descriptors), §7.2.3 (64-bit TSS descriptor),
 * §6.14.1 (64-bit IDT gates), §5.8.8 (IA32_STAR/LSTAR/FMASK), §10.6.1 (ICR), §8.4.4.1
 * (INIT-SIPI-SIPI sequence). */
#include "rt.h"

#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_FMASK 0xC0000084

#define LAPIC_ID 0x020
#define LAPIC_SVR 0x0F0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_PENDING (1u << 12)
#define ICR_INIT 0x00004500 /* INIT, level assert */
#define ICR_STARTUP 0x00004600 /* Start-up, vector in bits 7:0 */

struct rt_cpu rt_cpus[RT_MAX_CPUS];
unsigned int rt_ncpus;
int rt_user_entry_mode;
int rt_user_return_mode;
uint64_t rt_kstack_by_apic[256]; /* kernel RSP parked by rt_user_call, indexed by LAPIC ID */

extern uint64_t boot_gdt[8];
extern uint8_t rt_exc_stubs[];
extern uint8_t rt_tramp_start[], rt_tramp_end[], rt_tramp_stack[];
extern void rt_syscall_entry(void);

static uint64_t idt[2 * 32] __attribute__((aligned(16)));
static uint8_t kstacks[RT_MAX_CPUS][RT_STACK_BYTES] __attribute__((aligned(4096)));
static uint8_t ustacks[RT_MAX_CPUS][RT_STACK_BYTES] __attribute__((aligned(4096)));
static uint8_t xstacks[RT_MAX_CPUS][4096]
	__attribute__((aligned(4096))); /* TSS.RSP0: CPL 3 -> 0 events */
static struct rt_cpu *volatile ap_booting;
static long (*volatile ap_work)(struct rt_cpu *cpu);

void rt_cpu_init(struct rt_cpu *cpu);
void rt_idt_build(void);
void rt_ap_main(void);
void rt_exception(const uint64_t *frame);

static uint32_t lapic_read(uint32_t reg)
{
	return rt_mmio_read32(RT_LAPIC_BASE + reg);
}
static void lapic_write(uint32_t reg, uint32_t v)
{
	rt_mmio_write32(RT_LAPIC_BASE + reg, v);
}

uint32_t rt_lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void rt_idt_build(void)
{
	for (unsigned int v = 0; v < 32; v++) {
		uint64_t off = (uint64_t)(uintptr_t)(rt_exc_stubs + 16 * v);
		idt[2 * v] = (off & 0xFFFF) | ((uint64_t)RT_SEL_KCODE << 16) | (0x8Eull << 40) |
			     ((off >> 16) & 0xFFFF)
				     << 48; /* present, DPL 0, 64-bit interrupt gate */
		idt[2 * v + 1] = off >> 32;
	}
}

void rt_cpu_init(struct rt_cpu *cpu)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr, idtr;

	cpu->kstack_top = kstacks[cpu->index] + RT_STACK_BYTES;
	cpu->ustack_top = ustacks[cpu->index] + RT_STACK_BYTES;
	memcpy(cpu->gdt, boot_gdt, sizeof(boot_gdt));
	uint64_t base = (uint64_t)(uintptr_t)&cpu->tss, limit = sizeof(cpu->tss) - 1;
	cpu->gdt[8] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | 0x89ull << 40 |
		      ((limit >> 16) & 0xF) << 48 |
		      ((base >> 24) & 0xFF) << 56; /* present, available 64-bit TSS */
	cpu->gdt[9] = base >> 32;
	cpu->tss.rsp[0] = (uint64_t)(uintptr_t)(xstacks[cpu->index] + sizeof(xstacks[0]));
	cpu->tss.iopb = sizeof(cpu->tss); /* no I/O permission bitmap */
	gdtr.limit = sizeof(cpu->gdt) - 1;
	gdtr.base = (uint64_t)(uintptr_t)cpu->gdt;
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lgdt %0; lidt %1; ltr %w2"
			 :
			 : "m"(gdtr), "m"(idtr), "r"(RT_SEL_TSS)
			 : "memory");
	/* SYSCALL: CS = 0x10, SS = 0x18; SYSRET: CS = 0x20 + 16 = 0x33, SS = 0x20 + 8 = 0x2b */
	rt_wrmsr(MSR_STAR, (uint64_t)(RT_SEL_UCODE32 & ~3) << 48 | (uint64_t)RT_SEL_KCODE << 32);
	rt_wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)rt_syscall_entry);
	rt_wrmsr(MSR_FMASK, 0x47700); /* clear TF, IF, DF, IOPL, NT, AC on entry */
}

long rt_user_run(struct rt_cpu *cpu, long (*fn)(long), long arg)
{
	return rt_user_call(fn, arg, cpu->ustack_top);
}

void rt_exception(const uint64_t *frame)
{
	/* frame: vector, error code, RIP, CS, RFLAGS, RSP, SS; CR2: a page fault's address */
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	rt_printf(
		"\nrt: CPU exception %u (error 0x%lx) at RIP 0x%lx CS 0x%lx RSP 0x%lx CR2 0x%lx on "
		"APIC %u\n",
		(unsigned int)frame[0], frame[1], frame[2], frame[3], frame[5], cr2, rt_lapic_id());
	rt_exit(RT_EXIT_EXCEPTION);
}

/* First C code of an application processor, on the stack the boot CPU gave it in the trampoline. */
void rt_ap_main(void)
{
	struct rt_cpu *cpu = ap_booting;

	rt_cpu_init(cpu);
	cpu->apic_id_seen = rt_lapic_id();
	rt_barrier();
	cpu->online = 1;
	rt_barrier();
	long (*work)(struct rt_cpu *) = ap_work;
	if (work)
		cpu->result = work(cpu);
	rt_barrier();
	cpu->done = 1;
	rt_halt();
}

static bool icr_send(uint32_t apic_id, uint32_t lo)
{
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	for (unsigned int i = 0; i < 1000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_PENDING))
			return true;
		rt_delay_us(10);
	}
	return false;
}

static bool wait_online(struct rt_cpu *cpu, uint64_t timeout_us)
{
	uint64_t end = rt_now_us() + timeout_us;
	while (!cpu->online) {
		if (rt_now_us() > end)
			return false;
		rt_delay_us(50);
	}
	return true;
}

unsigned int rt_smp_start(long (*work)(struct rt_cpu *cpu))
{
	uint32_t self = rt_lapic_id();
	unsigned int online = 1;

	ap_work = work;
	lapic_write(LAPIC_SVR, 0x1FF); /* software-enable the LAPIC, spurious vector 0xFF */
	memcpy((void *)RT_TRAMP_ADDR, rt_tramp_start, (size_t)(rt_tramp_end - rt_tramp_start));
	uint64_t *tramp_stack = (uint64_t *)(RT_TRAMP_ADDR + (rt_tramp_stack - rt_tramp_start));

	for (unsigned int i = 0; i < rt_acpi.n_cpus && rt_ncpus < RT_MAX_CPUS; i++) {
		uint32_t id = rt_acpi.apic_ids[i];
		if (id == self || id > 255)
			continue;
		struct rt_cpu *cpu = &rt_cpus[rt_ncpus];
		cpu->index = rt_ncpus++;
		cpu->apic_id = id;
		*tramp_stack = (uint64_t)(uintptr_t)(kstacks[cpu->index] + RT_STACK_BYTES);
		ap_booting = cpu;
		rt_barrier();
		bool sent = icr_send(id, ICR_INIT);
		rt_delay_us(10000);
		sent = icr_send(id, ICR_STARTUP | (RT_TRAMP_ADDR >> 12)) && sent;
		if (!wait_online(cpu, 200000)) {
			sent = icr_send(id, ICR_STARTUP | (RT_TRAMP_ADDR >> 12)) && sent;
			if (!wait_online(cpu, 2000000)) {
				rt_printf("rt: cpu%u (APIC ID %u) did not start within 2 s%s; not "
					  "starting others\n",
					  cpu->index, id, sent ? "" : " (IPI still pending)");
				break;
			}
		}
		online++;
	}
	return online;
}

unsigned int rt_smp_wait_done(uint64_t timeout_us)
{
	uint64_t end = rt_now_us() + timeout_us;
	unsigned int done;

	for (;;) {
		unsigned int online = 0;
		done = 0;
		for (unsigned int i = 1; i < rt_ncpus; i++) {
			online += rt_cpus[i].online;
			done += rt_cpus[i].online && rt_cpus[i].done;
		}
		if (done == online || rt_now_us() > end)
			return done;
		rt_delay_us(1000);
	}
}
