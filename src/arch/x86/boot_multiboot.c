/*
 * boot_multiboot.c — Multiboot Specification 0.6.96 loader: 3.1 (OS image
 * format), 3.2 (machine state), 3.3 (boot information format).
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/boot_cpu.h"
#include "arch/x86/boot_multiboot.h"
#include "arch/x86/e820.h"

#define PAGE_BYTES 4096ull

/* Offsets inside the multiboot header (3.1.1) */
#define MBH_MAGIC 0
#define MBH_FLAGS 4
#define MBH_CHECKSUM 8
#define MBH_HEADER_ADDR 12
#define MBH_LOAD_ADDR 16
#define MBH_LOAD_END_ADDR 20
#define MBH_BSS_END_ADDR 24
#define MBH_ENTRY_ADDR 28
#define MBH_AOUT_LEN 32

/* Where vmon puts the pieces of the multiboot info (3.3) in its area. */
#define MBI_LEN 88 /* flags .. apm_table; no VBE/framebuffer fields */
#define MBI_NAME_GPA (LAYOUT_MB_INFO_GPA + 0x80)
#define MBI_MODSTR_GPA (LAYOUT_MB_INFO_GPA + 0x90)
#define MBI_MODS_GPA (LAYOUT_MB_INFO_GPA + 0xA0)
#define MBI_MMAP_GPA (LAYOUT_MB_INFO_GPA + 0x100)
#define MBI_MMAP_ENTRY 24 /* size(4) base(8) length(8) type(4) */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}
static void wr64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

/* Offset of the first valid header, or -1. */
static long mb_find(const uint8_t *k, size_t len)
{
	size_t lim = len < MULTIBOOT_SEARCH_BYTES ? len : MULTIBOOT_SEARCH_BYTES;

	if (!k)
		return -1;
	for (size_t off = 0; off + 12 <= lim; off += 4) {
		uint32_t magic = rd32(k + off), flags = rd32(k + off + 4);

		if (magic == MULTIBOOT_HEADER_MAGIC &&
		    (uint32_t)(magic + flags + rd32(k + off + 8)) == 0)
			return (long)off;
	}
	return -1;
}

bool multiboot_detect(const uint8_t *kernel, size_t kernel_len)
{
	return mb_find(kernel, kernel_len) >= 0;
}

/* 3.1.3, flags bit 16: the address fields of the header say where to load. */
static int mb_parse_aout(const uint8_t *k, size_t len, size_t hoff, const struct layout *lo,
			 struct multiboot_image *img, char *err, size_t err_len)
{
	uint32_t header_addr, load_addr, load_end, bss_end, entry;
	uint64_t file_off, load_len, mem_len;

	if (len - hoff < MBH_AOUT_LEN)
		return arch_err(err, err_len, -EINVAL,
				"multiboot: header at 0x%zx is cut short before its address fields",
				hoff);
	header_addr = rd32(k + hoff + MBH_HEADER_ADDR);
	load_addr = rd32(k + hoff + MBH_LOAD_ADDR);
	load_end = rd32(k + hoff + MBH_LOAD_END_ADDR);
	bss_end = rd32(k + hoff + MBH_BSS_END_ADDR);
	entry = rd32(k + hoff + MBH_ENTRY_ADDR);

	/* The header's load address maps back to file offset hoff. */
	if (header_addr < load_addr || header_addr - load_addr > hoff)
		return arch_err(err, err_len, -EINVAL,
				"multiboot: header_addr 0x%x and load_addr 0x%x do not match the "
				"header at file offset 0x%zx",
				header_addr, load_addr, hoff);
	file_off = hoff - (header_addr - load_addr);
	if (load_end == 0) {
		load_len = len - file_off; /* 3.1.3: 0 means "to the end of the file" */
	} else {
		if (load_end < load_addr)
			return arch_err(err, err_len, -EINVAL,
					"multiboot: load_end_addr 0x%x is below load_addr 0x%x",
					load_end, load_addr);
		load_len = load_end - load_addr;
		if (load_len > len - file_off)
			return arch_err(err, err_len, -EINVAL,
					"multiboot: load_end_addr 0x%x is past the end of the "
					"%zu-byte file",
					load_end, len);
	}
	mem_len = load_len;
	if (bss_end) {
		if (bss_end < load_addr + load_len)
			return arch_err(
				err, err_len, -EINVAL,
				"multiboot: bss_end_addr 0x%x is below the loaded image end 0x%llx",
				bss_end, (unsigned long long)(load_addr + load_len));
		mem_len = bss_end - (uint64_t)load_addr;
	}
	if (entry < load_addr || entry >= load_addr + load_len)
		return arch_err(
			err, err_len, -EINVAL,
			"multiboot: entry_addr 0x%x is outside the loaded image 0x%x..0x%llx",
			entry, load_addr, (unsigned long long)(load_addr + load_len));
	img->aout_kludge = true;
	img->entry_gpa = entry;
	return boot_image_add(lo, &img->load, load_addr, file_off, load_len, mem_len, "multiboot",
			      err, err_len);
}

/* ELF32 or ELF64 executable: PT_LOAD segments by physical address; the entry must be loaded. */
static int mb_parse_elf(const uint8_t *k, size_t len, const struct layout *lo,
			struct multiboot_image *img, char *err, size_t err_len)
{
	int ret = boot_elf_parse(k, len, lo, "multiboot", &img->load, err, err_len);

	if (ret == -ENOEXEC && (len < 4 || memcmp(k, ELFMAG, SELFMAG)))
		return arch_err(err, err_len, -ENOEXEC,
				"multiboot: no a.out kludge (flag 16) and not an ELF file");
	if (ret)
		return ret;
	if (!img->load.entry_found || img->load.entry_gpa > UINT32_MAX)
		return arch_err(err, err_len, -EINVAL,
				"multiboot: ELF entry is not inside a loaded segment");
	img->entry_gpa = (uint32_t)img->load.entry_gpa;
	return 0;
}

int multiboot_parse(const uint8_t *kernel, size_t kernel_len, const struct layout *lo,
		    struct multiboot_image *img, char *err, size_t err_len)
{
	long hoff;
	uint32_t unsupported;

	memset(img, 0, sizeof(*img));
	hoff = mb_find(kernel, kernel_len);
	if (hoff < 0)
		return arch_err(err, err_len, -ENOEXEC,
				"multiboot: no header with a valid checksum in the first %u bytes",
				MULTIBOOT_SEARCH_BYTES);
	img->header_offset = (uint32_t)hoff;
	img->flags = rd32(kernel + hoff + MBH_FLAGS);
	/* 3.1.2: an unknown or unfulfillable bit in 0-15 must make the load fail. */
	unsupported = img->flags & 0xFFFFu & ~MULTIBOOT_SUPPORTED_REQUIRED;
	if (unsupported)
		return arch_err(err, err_len, -ENOEXEC,
				"multiboot: header requires features 0x%x vmon cannot provide%s",
				unsupported,
				(unsupported & MULTIBOOT_VIDEO_MODE) ? " (video mode)" : "");
	if (img->flags & MULTIBOOT_AOUT_KLUDGE)
		return mb_parse_aout(kernel, kernel_len, (size_t)hoff, lo, img, err, err_len);
	return mb_parse_elf(kernel, kernel_len, lo, img, err, err_len);
}

int multiboot_load(struct gmem *gm, const struct layout *lo, const uint8_t *kernel,
		   size_t kernel_len, const uint8_t *initrd, size_t initrd_len, const char *cmdline,
		   struct x86_cpu_state *st, char *err, size_t err_len)
{
	struct boot_e820_entry map[E820_MAX_VMON_ENTRIES];
	uint8_t mbi[MBI_LEN], mmap[E820_MAX_VMON_ENTRIES * MBI_MMAP_ENTRY], mod[16];
	static const char name[] = "vmon", modstr[] = "initrd";
	struct multiboot_image img;
	uint64_t mod_gpa = 0, top;
	size_t cmdline_len;
	uint32_t flags;
	int ret, nr;

	ret = multiboot_parse(kernel, kernel_len, lo, &img, err, err_len);
	if (ret)
		return ret;
	cmdline_len = strlen(cmdline);
	if (cmdline_len > LAYOUT_CMDLINE_MAX_BYTES - 1)
		return arch_err(err, err_len, -E2BIG,
				"multiboot: command line is %zu bytes, at most %llu fit",
				cmdline_len, LAYOUT_CMDLINE_MAX_BYTES - 1);
	if (initrd_len) {
		/* Module 0, page-aligned, as high as possible in low RAM above the image. */
		uint64_t floor = img.load.end_gpa > LAYOUT_HIGH_MEM_GPA ? img.load.end_gpa
									: LAYOUT_HIGH_MEM_GPA;

		top = lo->low_ram_end;
		floor = (floor + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
		if (initrd_len > top || ((top - initrd_len) & ~(PAGE_BYTES - 1)) < floor)
			return arch_err(err, err_len, -E2BIG,
					"multiboot: module of %zu bytes does not fit between "
					"0x%llx and 0x%llx",
					initrd_len, (unsigned long long)floor,
					(unsigned long long)top);
		mod_gpa = (top - initrd_len) & ~(PAGE_BYTES - 1);
	}
	nr = e820_build(lo, map, E820_MAX_VMON_ENTRIES);
	if (nr < 0)
		return arch_err(err, err_len, nr, "multiboot: e820 map too large");

	ret = boot_image_load(gm, kernel, &img.load, "multiboot", err, err_len);
	if (ret)
		return ret;

	/* Multiboot info (3.3). */
	memset(mbi, 0, sizeof(mbi));
	flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MMAP |
		MULTIBOOT_INFO_LOADER_NAME;
	wr32(mbi, 4, (uint32_t)(LAYOUT_EBDA_GPA >> 10)); /* mem_lower, KiB */
	wr32(mbi, 8, (uint32_t)((lo->low_ram_end - LAYOUT_HIGH_MEM_GPA) >> 10)); /* mem_upper */
	wr32(mbi, 16, (uint32_t)LAYOUT_CMDLINE_GPA); /* cmdline */
	if (initrd_len) {
		flags |= MULTIBOOT_INFO_MODS;
		wr32(mbi, 20, 1); /* mods_count */
		wr32(mbi, 24, (uint32_t)MBI_MODS_GPA); /* mods_addr */
		wr32(mod, 0, (uint32_t)mod_gpa); /* mod_start */
		wr32(mod, 4, (uint32_t)(mod_gpa + initrd_len)); /* mod_end (exclusive) */
		wr32(mod, 8, (uint32_t)MBI_MODSTR_GPA); /* string */
		wr32(mod, 12, 0); /* reserved */
	}
	for (int i = 0; i < nr; i++) {
		uint8_t *e = mmap + (size_t)i * MBI_MMAP_ENTRY;

		wr32(e, 0, MBI_MMAP_ENTRY - 4); /* size, not counting itself */
		wr64(e, 4, map[i].addr);
		wr64(e, 12, map[i].size);
		wr32(e, 20, map[i].type);
	}
	wr32(mbi, 44, (uint32_t)(nr * MBI_MMAP_ENTRY)); /* mmap_length */
	wr32(mbi, 48, (uint32_t)MBI_MMAP_GPA); /* mmap_addr */
	wr32(mbi, 64, (uint32_t)MBI_NAME_GPA); /* boot_loader_name */
	wr32(mbi, 0, flags);

	if (gmem_write(gm, LAYOUT_MB_INFO_GPA, mbi, sizeof(mbi)) ||
	    gmem_write(gm, MBI_NAME_GPA, name, sizeof(name)) ||
	    gmem_write(gm, MBI_MODSTR_GPA, modstr, sizeof(modstr)) ||
	    gmem_write(gm, MBI_MMAP_GPA, mmap, (size_t)nr * MBI_MMAP_ENTRY) ||
	    (initrd_len && (gmem_write(gm, MBI_MODS_GPA, mod, sizeof(mod)) ||
			    gmem_write(gm, mod_gpa, initrd, initrd_len))) ||
	    gmem_write(gm, LAYOUT_CMDLINE_GPA, cmdline, cmdline_len + 1) || boot_cpu_write_gdt(gm))
		return arch_err(err, err_len, -EFAULT,
				"multiboot: guest memory does not cover the layout's low RAM");

	/* 3.2 machine state */
	boot_cpu_protected_mode(st);
	st->rip = img.entry_gpa;
	st->rax = MULTIBOOT_BOOTLOADER_MAGIC;
	st->rbx = LAYOUT_MB_INFO_GPA;
	return 0;
}
