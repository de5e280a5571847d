/*
 * boot_elf.h — what the multiboot and PVH loaders share: a list of checked
 * ranges to load (struct boot_image), the rule for where a guest image may
 * go, and an ELF32/ELF64 executable parser (PT_LOAD segments by physical
 * address, the entry point, the Xen PVH entry note).
 *
 * Usable ranges for loaded images: [LAYOUT_VMON_LOW_END_GPA, LAYOUT_EBDA_GPA)
 * and [LAYOUT_HIGH_MEM_GPA, low_ram_end) — never vmon's GDT, info area, page
 * tables, stack or command line, nor the BIOS/ACPI area.
 */
#ifndef VMON_ARCH_X86_BOOT_ELF_H
#define VMON_ARCH_X86_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/layout.h"
#include "mem/gmem.h"

#define BOOT_MAX_SEGMENTS 16
/* Xen public/elfnote.h: physical 32-bit entry point of a PVH kernel. */
#define BOOT_XEN_ELFNOTE_PHYS32_ENTRY 18

/* struct boot_segment - one range to load: file bytes, then zeroes. */
struct boot_segment {
	uint64_t gpa;
	uint64_t file_off;
	uint64_t file_len;
	uint64_t mem_len; /* >= file_len; the rest is zero-filled (bss) */
};

/* struct boot_image - checked, non-overlapping ranges in usable RAM. */
struct boot_image {
	struct boot_segment seg[BOOT_MAX_SEGMENTS];
	unsigned nr_segs;
	uint64_t start_gpa; /* lowest loaded address */
	uint64_t end_gpa; /* exclusive end of everything loaded (incl. bss) */
	bool elf64;
	bool entry_found; /* e_entry lies in a PT_LOAD segment */
	uint64_t entry_gpa; /* e_entry translated to a physical address */
	bool has_pvh_entry; /* XEN_ELFNOTE_PHYS32_ENTRY present */
	uint32_t pvh_entry_gpa;
};

/* boot_range_ok - true when [gpa, gpa + len) is a usable range in @lo (see above). */
bool boot_range_ok(const struct layout *lo, uint64_t gpa, uint64_t len);

/*
 * boot_image_add - append a range after checking it is usable and overlaps
 * no earlier one; mem_len 0 adds nothing. @who prefixes messages ("multiboot").
 * Returns 0, -EINVAL (unusable or overlapping), -E2BIG (too many ranges).
 */
int boot_image_add(const struct layout *lo, struct boot_image *img, uint64_t gpa, uint64_t file_off,
		   uint64_t file_len, uint64_t mem_len, const char *who, char *err, size_t err_len);

/*
 * boot_elf_parse - parse the ELF executable @k (ELFCLASS32 EM_386 or
 * ELFCLASS64 EM_X86_64, little-endian, ET_EXEC): every PT_LOAD goes to its
 * p_paddr (checked with boot_image_add, file bytes bounds-checked), the
 * entry is translated through its segment, and PT_NOTE segments are searched
 * for the PVH entry note. @img must be zeroed by the caller. Returns 0,
 * -ENOEXEC (not such an ELF, nothing to load), -EINVAL (inconsistent).
 */
int boot_elf_parse(const uint8_t *k, size_t len, const struct layout *lo, const char *who,
		   struct boot_image *img, char *err, size_t err_len);

/*
 * boot_image_load - copy every range of @img from @k into @gm and zero its
 * bss. @img must come from a parse of the same @k. 0 or -EFAULT.
 */
int boot_image_load(struct gmem *gm, const uint8_t *k, const struct boot_image *img,
		    const char *who, char *err, size_t err_len);

#endif
