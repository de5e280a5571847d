/*
 * boot_bzimage.c — Linux x86 boot protocol, 64-bit entry
 * (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header",
 * "64-bit Boot Protocol").
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <asm/bootparam.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/boot_bzimage.h"
#include "arch/x86/boot_cpu.h"
#include "arch/x86/e820.h"

#define HDR_OFFSET 0x1F1 /* struct setup_header inside the image and the zero page */
#define HDR_MAGIC 0x53726448u /* "HdrS" */
#define BOOT_FLAG 0xAA55
#define PAGE_BYTES 4096ull
#define ENTRY64_OFFSET 0x200 /* boot.rst: 64-bit entry = load address + 0x200 */

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Read the header out of the image; the caller checked the length. */
static void read_hdr(const uint8_t *kernel, struct setup_header *hdr)
{
	memcpy(hdr, kernel + HDR_OFFSET, sizeof(*hdr));
}

bool bzimage_detect(const uint8_t *kernel, size_t kernel_len)
{
	struct setup_header hdr;

	if (!kernel || kernel_len < HDR_OFFSET + sizeof(hdr))
		return false;
	read_hdr(kernel, &hdr);
	return hdr.boot_flag == BOOT_FLAG && hdr.header == HDR_MAGIC;
}

int bzimage_parse(const uint8_t *kernel, size_t kernel_len, const struct layout *lo,
		  struct bzimage_info *info, char *err, size_t err_len)
{
	struct setup_header hdr;
	uint64_t setup_bytes, kernel_len_pm, init_size, pref, runtime, align, load, end, top;

	memset(info, 0, sizeof(*info));
	if (!kernel || kernel_len < HDR_OFFSET + sizeof(hdr))
		return arch_err(err, err_len, -ENOEXEC,
				"kernel: %zu bytes is too short for a boot sector and setup header",
				kernel_len);
	read_hdr(kernel, &hdr);
	if (hdr.boot_flag != BOOT_FLAG)
		return arch_err(err, err_len, -ENOEXEC, "kernel: boot flag is 0x%04x, not 0xAA55",
				hdr.boot_flag);
	if (hdr.header != HDR_MAGIC)
		return arch_err(err, err_len, -ENOEXEC, "kernel: no \"HdrS\" setup header magic");
	if (hdr.version < BZIMAGE_MIN_PROTOCOL)
		return arch_err(err, err_len, -ENOEXEC,
				"kernel: bzImage protocol %u.%02u is older than 2.06",
				hdr.version >> 8, hdr.version & 0xff);
	info->protocol = hdr.version;
	if (!(hdr.loadflags & LOADED_HIGH))
		return arch_err(err, err_len, -ENOEXEC,
				"kernel: not a bzImage (zImage loads low; LOADED_HIGH is clear)");
	if (!(hdr.xloadflags & XLF_KERNEL_64))
		return arch_err(
			err, err_len, -ENOEXEC,
			"kernel: no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags 0x%x)",
			hdr.xloadflags);

	setup_bytes = bzimage_setup_bytes(hdr.setup_sects);
	if (kernel_len <= setup_bytes)
		return arch_err(err, err_len, -EINVAL,
				"kernel: %zu bytes is shorter than its %llu-byte setup code",
				kernel_len, (unsigned long long)setup_bytes);
	kernel_len_pm = kernel_len - setup_bytes;
	/* syssize: size of the protected-mode code in 16-byte paragraphs (2.04+). */
	if ((uint64_t)hdr.syssize * 16 > kernel_len_pm)
		return arch_err(
			err, err_len, -EINVAL,
			"kernel: truncated: header says %llu bytes of kernel, file has %llu",
			(unsigned long long)hdr.syssize * 16, (unsigned long long)kernel_len_pm);

	/* pref_address and init_size exist from protocol 2.10 on. */
	pref = hdr.version >= 0x020A && hdr.pref_address ? hdr.pref_address : LAYOUT_HIGH_MEM_GPA;
	init_size = hdr.version >= 0x020A ? hdr.init_size : 0;
	align = PAGE_BYTES;
	if (hdr.relocatable_kernel) {
		if (hdr.kernel_alignment < PAGE_BYTES ||
		    (hdr.kernel_alignment & (hdr.kernel_alignment - 1)))
			return arch_err(
				err, err_len, -EINVAL,
				"kernel: kernel_alignment 0x%x is not a power of two >= 4 KiB",
				hdr.kernel_alignment);
		align = hdr.kernel_alignment;
	}
	/* Load at pref_address when relocatable and it fits, else at 1 MiB. */
	load = LAYOUT_HIGH_MEM_GPA;
	if (hdr.relocatable_kernel && pref >= LAYOUT_HIGH_MEM_GPA && !(pref & (align - 1)) &&
	    pref < lo->low_ram_end && kernel_len_pm <= lo->low_ram_end - pref &&
	    init_size <= lo->low_ram_end - pref)
		load = pref;
	/*
	 * boot.rst, init_size: the kernel needs init_size bytes from its runtime
	 * start address, which is align_up(max(load, pref_address),
	 * kernel_alignment) when relocatable, pref_address otherwise (the 64-bit
	 * entry code moves itself there before decompressing).
	 */
	runtime = hdr.relocatable_kernel ? (load > pref ? load : pref) : pref;
	if (runtime > lo->low_ram_end)
		return arch_err(err, err_len, -E2BIG,
				"kernel: runs at 0x%llx (pref_address) but RAM below the hole ends "
				"at 0x%llx",
				(unsigned long long)runtime, (unsigned long long)lo->low_ram_end);
	runtime = align_up(runtime, align);
	end = runtime + init_size;
	if (load + kernel_len_pm > end)
		end = load + kernel_len_pm;
	if (end > lo->low_ram_end)
		return arch_err(err, err_len, -E2BIG,
				"kernel: needs %llu MiB (init_size) from 0x%llx but RAM below the "
				"hole ends at 0x%llx",
				(unsigned long long)(init_size >> 20), (unsigned long long)runtime,
				(unsigned long long)lo->low_ram_end);

	/* initrd_addr_max: highest address the initrd may occupy (last byte). */
	top = (uint64_t)hdr.initrd_addr_max + 1;
	if (top > lo->low_ram_end)
		top = lo->low_ram_end;

	info->setup_bytes = (uint32_t)setup_bytes;
	info->kernel_len = kernel_len_pm;
	info->load_gpa = load;
	info->reserve_end_gpa = align_up(end, PAGE_BYTES);
	/* cmdline_size: maximum length without the terminating zero (2.06+). */
	info->cmdline_max = hdr.cmdline_size;
	if (info->cmdline_max > LAYOUT_CMDLINE_MAX_BYTES - 1)
		info->cmdline_max = LAYOUT_CMDLINE_MAX_BYTES - 1;
	info->initrd_top_gpa = top;
	return 0;
}

int bzimage_load(struct gmem *gm, const struct layout *lo, const uint8_t *kernel, size_t kernel_len,
		 const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp_gpa,
		 struct x86_cpu_state *st, char *err, size_t err_len)
{
	struct bzimage_info info;
	struct boot_params bp;
	uint64_t initrd_gpa = 0;
	size_t cmdline_len, hdr_len;
	int ret, nr;

	ret = bzimage_parse(kernel, kernel_len, lo, &info, err, err_len);
	if (ret)
		return ret;
	cmdline_len = strlen(cmdline);
	if (cmdline_len > info.cmdline_max)
		return arch_err(err, err_len, -E2BIG,
				"kernel: command line is %zu bytes, the kernel accepts at most %u",
				cmdline_len, info.cmdline_max);
	if (initrd_len) {
		if (initrd_len > info.initrd_top_gpa ||
		    ((info.initrd_top_gpa - initrd_len) & ~(PAGE_BYTES - 1)) < info.reserve_end_gpa)
			return arch_err(
				err, err_len, -E2BIG,
				"initrd: %zu bytes does not fit between the kernel's end 0x%llx "
				"and 0x%llx (%llu bytes free)",
				initrd_len, (unsigned long long)info.reserve_end_gpa,
				(unsigned long long)info.initrd_top_gpa,
				(unsigned long long)(info.initrd_top_gpa > info.reserve_end_gpa
							     ? info.initrd_top_gpa -
								       info.reserve_end_gpa
							     : 0));
		initrd_gpa = (info.initrd_top_gpa - initrd_len) & ~(PAGE_BYTES - 1);
	}

	/* Zero page: a copy of the image's setup header, then the loader's fields. */
	memset(&bp, 0, sizeof(bp));
	/* boot.rst: the header ends at 0x202 + the byte at 0x201 (the jump offset). */
	hdr_len = 0x202 + (size_t)kernel[0x201] - HDR_OFFSET;
	if (hdr_len > sizeof(bp.hdr))
		hdr_len = sizeof(bp.hdr);
	memcpy(&bp.hdr, kernel + HDR_OFFSET, hdr_len);
	bp.hdr.type_of_loader = 0xFF; /* undefined loader */
	bp.hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	bp.hdr.loadflags &= (uint8_t)~KEEP_SEGMENTS;
	bp.hdr.heap_end_ptr = BZIMAGE_HEAP_END_PTR - 0x200;
	bp.hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE_GPA;
	bp.ext_cmd_line_ptr = 0;
	bp.hdr.vid_mode = 0xFFFF; /* "normal" */
	bp.hdr.code32_start = (uint32_t)info.load_gpa;
	if (initrd_len) {
		bp.hdr.ramdisk_image = (uint32_t)initrd_gpa;
		bp.ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
		bp.hdr.ramdisk_size = (uint32_t)initrd_len;
		bp.ext_ramdisk_size = (uint32_t)((uint64_t)initrd_len >> 32);
	}
	nr = e820_build(lo, bp.e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (nr < 0)
		return arch_err(err, err_len, nr, "e820: map does not fit the zero page");
	bp.e820_entries = (uint8_t)nr;
	if (info.protocol >= 0x020E)
		bp.acpi_rsdp_addr = rsdp_gpa;

	if (gmem_write(gm, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)) ||
	    gmem_write(gm, LAYOUT_CMDLINE_GPA, cmdline, cmdline_len + 1) ||
	    gmem_write(gm, info.load_gpa, kernel + info.setup_bytes, info.kernel_len) ||
	    (initrd_len && gmem_write(gm, initrd_gpa, initrd, initrd_len)) ||
	    boot_cpu_write_gdt(gm) || boot_cpu_write_page_tables(gm))
		return arch_err(err, err_len, -EFAULT,
				"kernel: guest memory does not cover the layout's low RAM");

	boot_cpu_long_mode(st);
	st->rip = info.load_gpa + ENTRY64_OFFSET;
	st->rsi = LAYOUT_ZERO_PAGE_GPA;
	return 0;
}
