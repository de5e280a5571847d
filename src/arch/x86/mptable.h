/*
 * mptable.h — the Intel MultiProcessor Specification (1.4) table vmon gives an
 * x86 guest beside its ACPI tables: how a guest booted with acpi=off (or one
 * without ACPI support) finds its CPUs and its IOAPIC. Linux reads it only when
 * built with CONFIG_X86_MPPARSE (Debian's generic kernel, not its cloud kernel)
 * and only when ACPI gives no MADT; Firecracker and kvmtool write one too.
 *
 * Layout, at LAYOUT_MPTABLE_GPA (0xF0000, in the BIOS area Linux scans for the
 * floating pointer, reserved in e820):
 *   - the MP floating pointer structure "_MP_" (16 bytes, spec 4.1), pointing
 *     at the configuration table right after it; no default configuration,
 *     no IMCR (the guest's LAPICs are in virtual-wire mode from reset);
 *   - the configuration table "PCMP" (spec 4.2): one processor entry per vCPU
 *     (APIC ID i, the first the bootstrap processor), one bus (ISA, id 0), the
 *     IOAPIC (id nr_cpus, as in the MADT, at LAYOUT_IOAPIC_GPA), ISA IRQ i on
 *     IOAPIC pin i for i in 0..15 (KVM's default GSI routing, as the MADT's
 *     absence of overrides says), IRQ i on pin i for 16..23 too, declared
 *     level-triggered and active-high (the lines vmon holds until the driver
 *     acknowledges: virtio-mmio's, and PCI INTx; Linux sets up an IRQ only for
 *     the pins listed here, so a `virtio_mmio.device=...:16` line needs it), and
 *     the local interrupts of every LAPIC: ExtINT on LINT0, NMI on LINT1.
 * Both are checksummed (bytes sum to 0). PCI is not described: vmon's virtio
 * PCI devices interrupt through MSI-X, and Linux finds the bus through
 * configuration mechanism #1 (ports 0xCF8/0xCFC), which it probes by itself.
 */
#ifndef VMON_ARCH_X86_MPTABLE_H
#define VMON_ARCH_X86_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "mem/gmem.h"

#define MPTABLE_MAX_CPUS 254 /* xAPIC IDs 0..253; the IOAPIC takes nr_cpus */
#define MPTABLE_ISA_IRQS 16
#define MPTABLE_IOAPIC_PINS 24
#define MPTABLE_LEVEL_HIGH 0x0d /* I/O interrupt flags: PO 01 active high, EL 11 level */
#define MPTABLE_FLOAT_LEN 16u
#define MPTABLE_HEADER_LEN 44u
#define MPTABLE_CPU_ENTRY_LEN 20u
#define MPTABLE_ENTRY_LEN 8u /* bus, IOAPIC, I/O and local interrupt entries */
/* the entries besides the processors: the ISA bus, the IOAPIC, one IRQ per IOAPIC pin, LINT0 and
 * LINT1 */
#define MPTABLE_FIXED_ENTRIES (1u + 1u + MPTABLE_IOAPIC_PINS + 2u)

/* Entry types (spec table 4-3) */
enum { MPTABLE_CPU = 0, MPTABLE_BUS = 1, MPTABLE_IOAPIC = 2, MPTABLE_IOINT = 3, MPTABLE_LINT = 4 };
/* Interrupt types (spec table 4-7) */
enum { MPTABLE_INT = 0, MPTABLE_NMI = 1, MPTABLE_SMI = 2, MPTABLE_EXTINT = 3 };

/*
 * mptable_size - bytes the floating pointer and the configuration table take
 * for @nr_cpus vCPUs.
 */
size_t mptable_size(unsigned nr_cpus);

/*
 * mptable_write - write the MP floating pointer and configuration table for
 * @nr_cpus vCPUs (1..MPTABLE_MAX_CPUS) at @gpa (16-byte aligned) in @gm.
 * @cpu_signature and @cpu_features are CPUID leaf 1's EAX and EDX as the
 * guest sees them (the processor entries carry them). Returns 0, or -EINVAL
 * (bad count or alignment) / -EFAULT (@gm does not map the table) with a
 * one-line reason in @err.
 */
int mptable_write(struct gmem *gm, uint64_t gpa, unsigned nr_cpus, uint32_t cpu_signature,
		  uint32_t cpu_features, char *err, size_t err_len);

#endif
