/* rt.h — the freestanding runtime shared by vmon's guests: port/MMIO access, COM1 printf, debug
 * exit, boot info, TSC time, ACPI (MADT/FADT/_S5_ power-off), SMP bring-up and ring-3 calls.
 * Everything runs identity-mapped in long mode; guests provide `int guest_main(void)` and the
 * runtime exits with its return value. */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_layout.h"

#define RT_MAX_CPUS 64
#define RT_MAX_MMAP 32

/* ---- raw access (Intel SDM Vol. 2: IN/OUT, RDTSC, CPUID, RDMSR/WRMSR) */
static inline void rt_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void rt_outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void rt_outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t rt_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t rt_inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t rt_inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint64_t rt_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void rt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}
static inline uint64_t rt_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void rt_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint32_t rt_mmio_read32(uintptr_t gpa)
{
	return *(volatile uint32_t *)gpa;
}
static inline uint8_t rt_mmio_read8(uintptr_t gpa)
{
	return *(volatile uint8_t *)gpa;
}
static inline void rt_mmio_write32(uintptr_t gpa, uint32_t v)
{
	*(volatile uint32_t *)gpa = v;
}
static inline void rt_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}
static inline void rt_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* ---- string helpers (the compiler may also emit calls to these) */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---- serial console on COM1 (8250/16550 at 0x3f8, polled on LSR.THRE) */
/* rt_serial_init programs COM1 for 115200 8N1 without interrupts. */
void rt_serial_init(void);
/* rt_putc writes one byte ("\n" becomes "\r\n"); gives up on a byte if THRE never rises (bounded
 * poll). */
void rt_putc(char c);
/* rt_printf: %s %c %d %u %x %p with l/ll modifiers, '0' flag and a width; returns bytes written. */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vprintf(const char *fmt, va_list ap);

/* ---- ending the run */
/* rt_exit writes code to the debug-exit port 0xf4 (4 bytes): the monitor exits with (code << 1)
 * | 1.  If the port does nothing it forces a triple fault so that the run still ends. */
__attribute__((noreturn)) void rt_exit(uint32_t code);
/* rt_halt stops this CPU for good (interrupts off, HLT). */
__attribute__((noreturn)) void rt_halt(void);

/* ---- boot information, copied out of the multiboot info at entry (Multiboot §3.3) */
struct rt_mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* 1 = usable RAM */
};
struct rt_module {
	uint32_t start, end; /* [start, end) physical */
	char name[64];
};
#define RT_MAX_MODULES 4
struct rt_boot_info {
	uint32_t magic; /* EAX at entry: 0x2BADB002 */
	uint32_t flags; /* multiboot info flags */
	uint32_t mem_lower_kb, mem_upper_kb;
	char cmdline[256];
	bool have_cmdline;
	unsigned int n_mmap;
	struct rt_mmap_entry mmap[RT_MAX_MMAP];
	unsigned int n_modules; /* modules beyond RT_MAX_MODULES are not copied */
	struct rt_module modules[RT_MAX_MODULES];
};
extern struct rt_boot_info rt_boot;
/* rt_cmdline_has: true if the command line contains word as a whole space-separated token. */
bool rt_cmdline_has(const char *word);
/* rt_cmdline_num: the decimal number after key (e.g. "seed=") where key starts a word of the
 * command line, else dflt. */
unsigned long rt_cmdline_num(const char *key, unsigned long dflt);

/* ---- memory: a bump allocator over the usable RAM region that holds the image */
/* rt_alloc (align: a power of two) returns align-aligned memory that avoids the multiboot modules
 * (not cleared: RAM is zero at boot) or NULL when out of RAM.
 */
void *rt_alloc(size_t bytes, size_t align);

/* ---- time (TSC, calibrated against PIT channel 2 at boot) */
extern uint64_t rt_tsc_khz;
extern bool rt_tsc_calibrated; /* false: rt_tsc_khz is a guess (no PIT answered) */
uint64_t rt_now_us(void);
void rt_delay_us(uint64_t us);

/* ---- ACPI (ACPI 6.4: §5.2.5 RSDP, §5.2.8 XSDT, §5.2.9 FADT, §5.2.12 MADT, §7.4.2 \_S5) */
struct rt_gas {
	uint8_t space; /* 0 = system memory, 1 = system I/O */
	uint8_t bit_width;
	uint64_t address;
};
struct rt_acpi {
	bool found;
	uint8_t rsdp_rev;
	char oem_id[7];
	uint64_t rsdp_gpa;
	unsigned int n_cpus; /* enabled LAPICs in the MADT */
	uint32_t apic_ids[RT_MAX_CPUS];
	unsigned int n_cpus_ignored; /* beyond RT_MAX_CPUS */
	bool have_fadt;
	uint8_t fadt_rev;
	bool hw_reduced;
	struct rt_gas sleep_ctl;
	uint32_t pm1a_cnt, pm1b_cnt;
	uint64_t dsdt_gpa;
	bool have_reset; /* FADT RESET_REG_SUP with a RESET_REG */
	struct rt_gas reset_reg;
	uint8_t reset_value;
	uint64_t ecam_gpa; /* MCFG: ECAM base of segment 0, bus 0; 0 = none (use ports 0xCF8/0xCFC)
			    */
	bool have_s5;
	uint8_t s5_typ_a, s5_typ_b;
};
extern struct rt_acpi rt_acpi;
/* rt_acpi_init finds and parses the tables; returns 0 or -1 when no valid RSDP/XSDT/RSDT was found.
 */
int rt_acpi_init(void);
/* rt_acpi_reset writes the FADT's RESET_VALUE to RESET_REG (ACPI 6.4 §4.8.4.6); returns only if
 * that did nothing within 200 ms (or there is no reset register). */
void rt_acpi_reset(void);
/* rt_acpi_poweroff enters S5 (SLEEP_CONTROL_REG on HW-reduced platforms, else PM1a/PM1b_CNT); if
 * the VM is still running 200 ms later it exits with RT_EXIT_POWEROFF_FAILED. */
__attribute__((noreturn)) void rt_acpi_poweroff(void);

/* ---- PCI configuration space (PCI Local Bus 3.0 §3.2.2.3.2 CF8/CFC; PCIe 4.0 §7.2.2 ECAM) */
/* rt_pci_read32/write32: register reg (4-byte aligned) of bus 0 device dev function fn, through
 * ECAM when the MCFG gave one (call rt_acpi_init first), else through ports 0xCF8/0xCFC. */
uint32_t rt_pci_read32(unsigned int dev, unsigned int fn, unsigned int reg);
void rt_pci_write32(unsigned int dev, unsigned int fn, unsigned int reg, uint32_t v);
/* rt_pci_bar returns the address of memory BAR bar (64-bit BARs included), or 0 for an I/O or empty
 * BAR. */
uint64_t rt_pci_bar(unsigned int dev, unsigned int fn, unsigned int bar);

/* ---- virtio 1.x over PCI (modern interface), up to RT_VIRTIO_QUEUES split virtqueues, synchronous
 * requests (virtio 1.2 §4.1, §2.7) */
#define RT_VQ_SIZE 8
#define RT_VIRTIO_QUEUES 3
struct rt_virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* 1 = NEXT, 2 = WRITE (device writes) */
	uint16_t next;
};
struct rt_virtq {
	volatile uint16_t *notify; /* this queue's notification address */
	struct rt_virtq_desc *desc; /* RT_VQ_SIZE descriptors */
	volatile uint16_t *avail; /* flags, idx, ring[RT_VQ_SIZE] */
	volatile uint8_t *used; /* flags, idx, ring[RT_VQ_SIZE] of {id, len} */
	uint16_t avail_idx, used_idx;
};
struct rt_virtio {
	unsigned int dev, fn;
	uint16_t device_id;
	volatile uint8_t *mmio; /* virtio-mmio registers (virtio 1.2 §4.2); NULL: PCI */
	volatile uint8_t *common; /* struct virtio_pci_common_cfg */
	volatile uint8_t *device; /* device-specific configuration */
	uint64_t notify_base; /* notification BAR address + cap offset */
	uint32_t notify_mult; /* notify_off_multiplier */
	unsigned int nqueues;
	struct rt_virtq vq[RT_VIRTIO_QUEUES];
	uint32_t features; /* negotiated feature bits 0-31 */
};
/* rt_virtio_pci_caps walks the capability list of PCI function dev (bus 0, function 0) and maps
 * what it names: the virtio structures (virtio 1.2 §4.1.4: common, ISR, device-specific
 * configuration, notifications) and the MSI-X table. What is absent, or in a BAR not assigned,
 * stays 0. */
struct rt_virtio_caps {
	volatile uint8_t *common, *isr, *device;
	uint64_t notify_base; /* notification BAR address + cap offset */
	uint32_t notify_mult; /* notify_off_multiplier */
	uint64_t msix_table; /* MSI-X table address */
	uint32_t msix_len; /* its length in bytes (16 per entry) */
};
void rt_virtio_pci_caps(unsigned int dev, struct rt_virtio_caps *c);
/* rt_virtio_find looks on PCI bus 0 for a virtio device of the given type (virtio 1.2 §5: 1 = net,
 * 2 = block, 3 = console, 4 = entropy; PCI device ID 0x1040 + type, or the transitional ID),
 * enables memory decoding and bus mastering and maps its capabilities; failing that, in vmon's
 * virtio-mmio windows (RT_VIRTIO_MMIO_BASE + i * 0x1000, version 2 only).  Returns 0, or -1 when
 * there is none or it lacks the modern interface. */
#define RT_VIRTIO_MMIO_BASE 0xF0000000ull
#define RT_VIRTIO_MMIO_WINDOWS 8
int rt_virtio_find(struct rt_virtio *vd, unsigned int type);
/* rt_virtio_setup resets the device, negotiates VIRTIO_F_VERSION_1 plus the features in want (bits
 * 0-31), sets up queues 0 .. nqueues-1 (at most RT_VIRTIO_QUEUES) and sets DRIVER_OK.  Returns 0,
 * or -1 (printed) when the device refuses.  One device at a time: the rings are static. */
int rt_virtio_setup(struct rt_virtio *vd, uint32_t want, unsigned int nqueues);
/* rt_virtio_run posts the chain of n descriptors on queue q (flags other than NEXT taken from
 * chain[i].flags), notifies and polls for it to be used within timeout_us.  Returns the used
 * length, or -1 on timeout or a bad queue. */
long rt_virtio_run(struct rt_virtio *vd, unsigned int q, const struct rt_virtq_desc *chain,
		   unsigned int n, uint64_t timeout_us);
/* rt_virtio_run_each posts n buffers of one descriptor each (at most RT_VQ_SIZE) on queue q as n
 * chains, notifies once and polls for all n to be used within timeout_us.  Returns n, or -1 on
 * timeout (the queue is then out of step: reset the device) or a bad queue. */
long rt_virtio_run_each(struct rt_virtio *vd, unsigned int q, const struct rt_virtq_desc *bufs,
			unsigned int n, uint64_t timeout_us);

/* ---- CPUs */
struct rt_tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iopb;
} __attribute__((packed));

struct rt_cpu {
	unsigned int index; /* 0 = the boot CPU */
	uint32_t apic_id; /* from the MADT */
	uint32_t apic_id_seen; /* what the CPU read from its own LAPIC */
	volatile uint32_t online;
	volatile uint32_t done;
	long result;
	uint64_t result_us;
	uint64_t gdt[10];
	struct rt_tss tss;
	uint8_t *kstack_top;
	uint8_t *ustack_top;
};
extern struct rt_cpu rt_cpus[RT_MAX_CPUS];
extern unsigned int rt_ncpus; /* CPUs described in rt_cpus (BSP + MADT APs) */

uint32_t rt_lapic_id(void);
/* rt_smp_start starts every MADT CPU other than the boot CPU with INIT-SIPI-SIPI, one at a time,
 * each within a bounded wait.  A started CPU sets up its GDT/TSS/IDT/syscall MSRs, checks in
 * (online = 1), runs work(cpu) if work is not NULL, sets done = 1 and halts.  Returns the number of
 * CPUs online, the boot CPU included.  A CPU that does not check in is reported on the console and
 * bring-up stops there. */
unsigned int rt_smp_start(long (*work)(struct rt_cpu *cpu));
/* rt_smp_wait_done waits up to timeout_us for every online AP to set done; returns how many did. */
unsigned int rt_smp_wait_done(uint64_t timeout_us);

/* ---- ring 3 */
/* rt_user_call runs fn(arg) at CPL 3 on user_stack_top and returns its result (assembly, entry.S).
 */
long rt_user_call(long (*fn)(long), long arg, void *user_stack_top);
/* rt_user_run runs fn(arg) at CPL 3 on cpu's user stack. */
long rt_user_run(struct rt_cpu *cpu, long (*fn)(long), long arg);
extern int rt_user_entry_mode; /* 0 = IRETQ, 1 = SYSRETQ (cmdline "ring3=sysret") */
extern int rt_user_return_mode; /* 0 = UD2 trap, 1 = SYSCALL (cmdline "ring3-return=syscall") */

/* ---- the guest */
int guest_main(void);

#endif
