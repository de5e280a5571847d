/*
 * e820.h — the BIOS e820 memory map vmon reports for a layout (Linux zero
 * page, multiboot mmap, PVH memmap all derive from it).
 *
 * Entries, sorted by address and non-overlapping:
 *   [0, 0x9FC00)                       RAM
 *   [0x9FC00, 0x100000)                reserved (EBDA, VGA hole, BIOS, ACPI tables,
 *                                      the VM generation ID page)
 *   [0x100000, low_ram_end)            RAM
 *   [0xE0000000, 0xF0000000)           reserved (PCI ECAM: Linux checks MCFG
 *                                      windows against e820 before using them)
 *   [4 GiB, 4 GiB + high_ram_bytes)    RAM, when there is any
 */
#ifndef VMON_ARCH_X86_E820_H
#define VMON_ARCH_X86_E820_H

#include <asm/bootparam.h> /* struct boot_e820_entry */
#include <asm/e820.h> /* E820_RAM, E820_RESERVED */

#include "arch/x86/layout.h"

#define E820_MAX_VMON_ENTRIES 5

/*
 * e820_build - write the map for @lo into @out (room for @max entries).
 * Returns the number of entries, or -E2BIG when @max is too small.
 */
int e820_build(const struct layout *lo, struct boot_e820_entry *out, unsigned max);

#endif
