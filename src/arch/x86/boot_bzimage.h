/*
 * boot_bzimage.h — the Linux x86 boot protocol (Documentation/arch/x86/boot.rst)
 * for bzImage kernels entered through the 64-bit entry point: header checks,
 * kernel and initrd placement, the zero page (struct boot_params) and the
 * long-mode register state at startup_64.
 *
 * Every byte of the image is untrusted: each header field used is checked,
 * and a refusal comes back as -EINVAL / -E2BIG / -ENOEXEC with a one-line
 * reason ("kernel: bzImage protocol 2.04 is older than 2.06").
 */
#ifndef VMON_ARCH_X86_BOOT_BZIMAGE_H
#define VMON_ARCH_X86_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_state.h"
#include "arch/x86/layout.h"
#include "mem/gmem.h"

#define BZIMAGE_MIN_PROTOCOL 0x0206
#define BZIMAGE_HEAP_END_PTR 0xFE00 /* boot.rst: heap_end_ptr = heap end - 0x200 */

/* struct bzimage_info - what the header check found (plain data). */
struct bzimage_info {
	uint16_t protocol; /* header version, e.g. 0x020F */
	uint32_t setup_bytes; /* (setup_sects + 1) * 512 */
	uint64_t kernel_len; /* protected-mode part: file length - setup_bytes */
	uint64_t load_gpa; /* where the protected-mode kernel goes */
	uint64_t reserve_end_gpa; /* end of the kernel's runtime init_size reservation */
	uint32_t cmdline_max; /* longest accepted command line, without NUL */
	uint64_t initrd_top_gpa; /* exclusive upper bound for the initrd */
};

/*
 * bzimage_setup_bytes - the size of the real-mode setup code in front of the
 * protected-mode kernel, (setup_sects + 1) * 512, where a setup_sects of 0
 * means 4 (boot.rst). @setup_sects is the header byte at 0x1F1.
 */
static inline uint64_t bzimage_setup_bytes(uint8_t setup_sects)
{
	return ((uint64_t)(setup_sects ? setup_sects : 4) + 1) * 512;
}

/* bzimage_detect - true when @kernel has the boot flag and "HdrS" magic. */
bool bzimage_detect(const uint8_t *kernel, size_t kernel_len);

/*
 * bzimage_parse - check the header of @kernel for loading into @lo and work
 * out the placement into @info. Pure: touches no guest memory.
 * Returns 0; -ENOEXEC when it is not a usable bzImage (no boot flag or magic,
 * protocol < 2.06, no 64-bit entry, not LOADED_HIGH); -EINVAL for an
 * inconsistent header (truncated file, bad alignment); -E2BIG when the kernel
 * does not fit in RAM. @err gets a one-line reason.
 */
int bzimage_parse(const uint8_t *kernel, size_t kernel_len, const struct layout *lo,
		  struct bzimage_info *info, char *err, size_t err_len);

/*
 * bzimage_load - load @kernel into @gm and prepare the boot vCPU.
 * @lo: the VM's layout, whose RAM @gm maps.
 * @initrd/@initrd_len: optional initial ramdisk (NULL/0 for none); placed
 *   page-aligned as high as possible below min(initrd_addr_max + 1, low RAM
 *   end), above the kernel's init_size reservation.
 * @cmdline: NUL-terminated command line (not NULL; may be empty), copied to
 *   LAYOUT_CMDLINE_GPA; refused with -E2BIG when longer than the kernel's
 *   cmdline_size or LAYOUT_CMDLINE_MAX_BYTES - 1.
 * @rsdp_gpa: ACPI RSDP address stored in boot_params.acpi_rsdp_addr for
 *   protocol >= 2.14, 0 for none.
 * @st: filled with the 64-bit entry state (RIP = load address + 0x200,
 *   RSI = LAYOUT_ZERO_PAGE_GPA, CS 0x10, paging on identity tables).
 * Writes the GDT, page tables, zero page, command line, kernel and initrd.
 * Returns 0 or a negative errno as bzimage_parse(), -E2BIG for an initrd or
 * command line that does not fit, -EFAULT when @gm lacks the layout's RAM.
 */
int bzimage_load(struct gmem *gm, const struct layout *lo, const uint8_t *kernel, size_t kernel_len,
		 const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp_gpa,
		 struct x86_cpu_state *st, char *err, size_t err_len);

#endif
