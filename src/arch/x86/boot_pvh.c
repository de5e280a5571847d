/* boot_pvh.c — PVH direct boot: start info, memory map, 32-bit entry (Xen docs/misc/pvh.pandoc). */
#include <errno.h>
#include <string.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/boot_cpu.h"
#include "arch/x86/boot_pvh.h"
#include "arch/x86/e820.h"
#include "arch/x86/fw_bytes.h"

#define PAGE_BYTES 4096ull

/* public/arch-x86/hvm/start_info.h layouts (all little-endian, naturally aligned) */
#define SI_LEN 56 /* magic version flags nr_modules modlist cmdline rsdp memmap entries rsvd */
#define SI_MODLIST (LAYOUT_PVH_INFO_GPA + 0x40) /* one hvm_modlist_entry, 32 bytes */
#define SI_MEMMAP (LAYOUT_PVH_INFO_GPA + 0x80) /* hvm_memmap_table_entry, 24 bytes each */
#define MOD_LEN 32
#define MEMMAP_ENTRY 24

bool pvh_detect(const uint8_t *kernel, size_t kernel_len)
{
	struct layout lo = { .mem_bytes = LAYOUT_MMIO_HOLE_GPA,
			     .low_ram_end = LAYOUT_MMIO_HOLE_GPA };
	struct boot_image img;

	/* Parse against the largest low RAM: only the note matters here. */
	memset(&img, 0, sizeof(img));
	boot_elf_parse(kernel, kernel_len, &lo, "pvh", &img, NULL, 0);
	return img.has_pvh_entry;
}

int pvh_parse(const uint8_t *kernel, size_t kernel_len, const struct layout *lo,
	      struct boot_image *img, char *err, size_t err_len)
{
	int ret;

	memset(img, 0, sizeof(*img));
	ret = boot_elf_parse(kernel, kernel_len, lo, "pvh", img, err, err_len);
	if (ret)
		return ret;
	if (!img->has_pvh_entry)
		return arch_err(err, err_len, -ENOEXEC,
				"pvh: ELF has no XEN_ELFNOTE_PHYS32_ENTRY note");
	for (unsigned i = 0; i < img->nr_segs; i++)
		if (img->pvh_entry_gpa >= img->seg[i].gpa &&
		    img->pvh_entry_gpa - img->seg[i].gpa < img->seg[i].mem_len)
			return 0;
	return arch_err(err, err_len, -EINVAL, "pvh: entry 0x%x is not inside a loaded segment",
			img->pvh_entry_gpa);
}

uint64_t pvh_initrd_gpa(const struct layout *lo, size_t initrd_len)
{
	if (initrd_len > lo->low_ram_end)
		return 0;
	return (lo->low_ram_end - initrd_len) & ~(PAGE_BYTES - 1);
}

int pvh_load(struct gmem *gm, const struct layout *lo, const uint8_t *kernel, size_t kernel_len,
	     const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp_gpa,
	     struct x86_cpu_state *st, char *err, size_t err_len)
{
	struct boot_image img;
	int ret;

	ret = pvh_parse(kernel, kernel_len, lo, &img, err, err_len);
	if (ret)
		return ret;
	return pvh_load_info(gm, lo, &img, kernel, initrd, initrd_len, cmdline, rsdp_gpa, st, err,
			     err_len);
}

int pvh_load_info(struct gmem *gm, const struct layout *lo, const struct boot_image *img,
		  const uint8_t *kernel, const uint8_t *initrd, size_t initrd_len,
		  const char *cmdline, uint64_t rsdp_gpa, struct x86_cpu_state *st, char *err,
		  size_t err_len)
{
	struct boot_e820_entry map[E820_MAX_VMON_ENTRIES];
	uint8_t si[SI_LEN], mod[MOD_LEN], mm[E820_MAX_VMON_ENTRIES * MEMMAP_ENTRY];
	uint64_t mod_gpa = 0;
	size_t cmdline_len;
	int ret, nr;

	cmdline_len = strlen(cmdline);
	if (cmdline_len > LAYOUT_CMDLINE_MAX_BYTES - 1)
		return arch_err(err, err_len, -E2BIG,
				"pvh: command line is %zu bytes, at most %llu fit", cmdline_len,
				LAYOUT_CMDLINE_MAX_BYTES - 1);
	if (initrd_len) {
		uint64_t floor =
			img->end_gpa > LAYOUT_HIGH_MEM_GPA ? img->end_gpa : LAYOUT_HIGH_MEM_GPA;

		floor = (floor + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
		mod_gpa = pvh_initrd_gpa(lo, initrd_len);
		if (mod_gpa < floor)
			return arch_err(
				err, err_len, -E2BIG,
				"pvh: initrd of %zu bytes does not fit between 0x%llx and 0x%llx",
				initrd_len, (unsigned long long)floor,
				(unsigned long long)lo->low_ram_end);
	}
	nr = e820_build(lo, map, E820_MAX_VMON_ENTRIES);
	if (nr < 0)
		return arch_err(err, err_len, nr, "pvh: e820 map too large");
	if (kernel && (ret = boot_image_load(gm, kernel, img, "pvh", err, err_len)))
		return ret;

	memset(si, 0, sizeof(si));
	put32(si, 0, PVH_START_MAGIC);
	put32(si, 4, 1); /* version 1: memmap fields valid */
	put32(si, 8, 0); /* flags */
	put32(si, 12, initrd_len ? 1 : 0); /* nr_modules */
	put64(si, 16, initrd_len ? SI_MODLIST : 0); /* modlist_paddr */
	put64(si, 24, LAYOUT_CMDLINE_GPA); /* cmdline_paddr */
	put64(si, 32, rsdp_gpa); /* rsdp_paddr */
	put64(si, 40, SI_MEMMAP); /* memmap_paddr */
	put32(si, 48, (uint32_t)nr); /* memmap_entries */
	memset(mod, 0, sizeof(mod));
	put64(mod, 0, mod_gpa); /* paddr */
	put64(mod, 8, initrd_len); /* size */
	for (int i = 0; i < nr; i++) {
		uint8_t *e = mm + (size_t)i * MEMMAP_ENTRY;

		put64(e, 0, map[i].addr);
		put64(e, 8, map[i].size);
		put32(e, 16, map[i].type); /* e820 types, as the ABI says */
		put32(e, 20, 0);
	}
	if (gmem_write(gm, LAYOUT_PVH_INFO_GPA, si, sizeof(si)) ||
	    gmem_write(gm, SI_MEMMAP, mm, (size_t)nr * MEMMAP_ENTRY) ||
	    (initrd_len && (gmem_write(gm, SI_MODLIST, mod, sizeof(mod)) ||
			    gmem_write(gm, mod_gpa, initrd, initrd_len))) ||
	    gmem_write(gm, LAYOUT_CMDLINE_GPA, cmdline, cmdline_len + 1) || boot_cpu_write_gdt(gm))
		return arch_err(err, err_len, -EFAULT,
				"pvh: guest memory does not cover the layout's low RAM");

	boot_cpu_protected_mode(st);
	st->rip = img->pvh_entry_gpa;
	st->rbx = LAYOUT_PVH_INFO_GPA;
	return 0;
}
