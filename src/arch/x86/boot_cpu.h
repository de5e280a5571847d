/*
 * boot_cpu.h — the early CPU environment vmon's loaders hand to a guest: the
 * boot GDT, identity page tables, and x86_cpu_state for 32-bit protected mode
 * (multiboot) and 64-bit long mode (Linux 64-bit boot protocol).
 *
 * Boot GDT at LAYOUT_GDT_GPA:
 *   0x00 null
 *   0x08 flat 32-bit code (base 0, limit 4 GiB, execute/read)
 *   0x10 flat 64-bit code (L=1) — Linux's __BOOT_CS
 *   0x18 flat data (base 0, limit 4 GiB, read/write) — Linux's __BOOT_DS
 *   0x20 64-bit TSS descriptor (two slots, base 0, limit 0x67)
 */
#ifndef VMON_ARCH_X86_BOOT_CPU_H
#define VMON_ARCH_X86_BOOT_CPU_H

#include "arch/x86/cpu_state.h"
#include "mem/gmem.h"

#define BOOT_GDT_CODE32_SEL 0x08
#define BOOT_GDT_CODE64_SEL 0x10
#define BOOT_GDT_DATA_SEL 0x18
#define BOOT_GDT_TSS_SEL 0x20
#define BOOT_GDT_ENTRIES 6

/* EFER bits (Intel SDM vol. 3, 2.2.1; no uapi header carries them). */
#define BOOT_EFER_LME (1ull << 8)
#define BOOT_EFER_LMA (1ull << 10)

/*
 * boot_cpu_write_gdt - write the boot GDT at LAYOUT_GDT_GPA.
 * Returns 0, or -EFAULT when that page is not guest RAM.
 */
int boot_cpu_write_gdt(struct gmem *gm);

/*
 * boot_cpu_write_page_tables - identity-map the first 4 GiB with 2 MiB pages
 * (PML4 at LAYOUT_PML4_GPA, PDPT, 4 page directories). Returns 0 or -EFAULT.
 */
int boot_cpu_write_page_tables(struct gmem *gm);

/*
 * boot_cpu_protected_mode - fill @st for flat 32-bit protected mode, paging
 * off, interrupts off: CS = 0x08, DS/ES/FS/GS/SS = 0x18, CR0 = PE|ET, the boot
 * GDT loaded, TR = 0x20. General registers and RIP are zero: the caller sets
 * them.
 */
void boot_cpu_protected_mode(struct x86_cpu_state *st);

/*
 * boot_cpu_long_mode - fill @st for 64-bit long mode on the identity page
 * tables: CS = 0x10 (L=1), DS/ES/FS/GS/SS = 0x18, CR0 = PE|ET|PG, CR4 = PAE,
 * EFER = LME|LMA, CR3 = LAYOUT_PML4_GPA, interrupts off. The caller sets RIP
 * and the general registers.
 */
void boot_cpu_long_mode(struct x86_cpu_state *st);

#endif
