/*
 * boot_multiboot.h — Multiboot Specification 0.6.96 (multiboot v1) loader:
 * header search, a.out-kludge or ELF32/ELF64 loading, the multiboot info
 * structure, and the 32-bit protected-mode entry state.
 *
 * The image is untrusted: header fields, ELF headers and every segment are
 * range-checked; refusals are -ENOEXEC / -EINVAL / -E2BIG with a one-line
 * reason. Loaded ranges must lie in guest RAM and outside vmon's own areas
 * (0x1000..0x2FFFF, the reserved 0x9FC00..0xFFFFF): see layout.h.
 *
 * Multiboot info (at LAYOUT_MB_INFO_GPA, within 0x2000..0x6FFF): flags
 * MEMORY | CMDLINE | MODS | MMAP | BOOT_LOADER_NAME; mem_lower = 639 KiB,
 * mem_upper = KiB from 1 MiB to the end of low RAM; cmdline at
 * LAYOUT_CMDLINE_GPA; the initrd, when given, is module 0 (string "initrd"),
 * page-aligned high in low RAM; the mmap is the e820 map; the loader name is
 * "vmon".
 */
#ifndef VMON_ARCH_X86_BOOT_MULTIBOOT_H
#define VMON_ARCH_X86_BOOT_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/boot_elf.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/layout.h"
#include "mem/gmem.h"

/* Multiboot 0.6.96, 3.1.1-3.1.3: header magic, flags, search window */
#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH_BYTES 8192
#define MULTIBOOT_PAGE_ALIGN (1u << 0)
#define MULTIBOOT_MEMORY_INFO (1u << 1)
#define MULTIBOOT_VIDEO_MODE (1u << 2)
#define MULTIBOOT_AOUT_KLUDGE (1u << 16)
/* Required-feature bits (0-15) vmon honours: module page alignment, memory info. */
#define MULTIBOOT_SUPPORTED_REQUIRED (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)

/* Multiboot info flags (3.3) */
#define MULTIBOOT_INFO_MEMORY (1u << 0)
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
#define MULTIBOOT_INFO_MODS (1u << 3)
#define MULTIBOOT_INFO_MMAP (1u << 6)
#define MULTIBOOT_INFO_LOADER_NAME (1u << 9)

/* struct multiboot_image - the result of multiboot_parse(): plain data. */
struct multiboot_image {
	struct boot_image load; /* ranges to load (a.out kludge: one) */
	uint32_t header_offset; /* file offset of the header */
	uint32_t flags;
	uint32_t entry_gpa;
	bool aout_kludge;
};

/* multiboot_detect - true when a multiboot header with a valid checksum exists. */
bool multiboot_detect(const uint8_t *kernel, size_t kernel_len);

/*
 * multiboot_parse - find and check the header of @kernel and every range it
 * would load into @lo. Pure. Returns 0, -ENOEXEC (no header, unsupported
 * required flags, not a loadable ELF), -EINVAL (inconsistent fields, range
 * outside RAM or inside vmon's areas). @err gets a one-line reason.
 */
int multiboot_parse(const uint8_t *kernel, size_t kernel_len, const struct layout *lo,
		    struct multiboot_image *img, char *err, size_t err_len);

/*
 * multiboot_load - load @kernel into @gm, write the multiboot info, the
 * command line (@cmdline, not NULL, may be empty) and the optional @initrd as
 * module 0, the boot GDT, and fill @st: 32-bit protected mode, paging off,
 * CS 0x08 / DS 0x18 flat, EAX = 0x2BADB002, EBX = LAYOUT_MB_INFO_GPA, EIP =
 * entry, interrupts off. Returns 0 or -errno as multiboot_parse(); -E2BIG for
 * a command line or initrd that does not fit; -EFAULT when @gm lacks RAM.
 */
int multiboot_load(struct gmem *gm, const struct layout *lo, const uint8_t *kernel,
		   size_t kernel_len, const uint8_t *initrd, size_t initrd_len, const char *cmdline,
		   struct x86_cpu_state *st, char *err, size_t err_len);

#endif
