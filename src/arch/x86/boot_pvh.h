/*
 * boot_pvh.h — the PVH boot ABI (Xen docs/misc/pvh.pandoc, public
 * arch-x86/hvm/start_info.h) for ELF kernels with a XEN_ELFNOTE_PHYS32_ENTRY
 * note: Linux vmlinux built with CONFIG_PVH, and freestanding test guests.
 *
 * Start info at LAYOUT_PVH_INFO_GPA (vmon's multiboot info area: the two
 * formats never coexist): struct hvm_start_info version 1, then the module
 * list (the initrd as module 0), then the memory map (the e820 map);
 * cmdline at LAYOUT_CMDLINE_GPA; rsdp_paddr = the RSDP.
 */
#ifndef VMON_ARCH_X86_BOOT_PVH_H
#define VMON_ARCH_X86_BOOT_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/boot_elf.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/layout.h"
#include "mem/gmem.h"

#define PVH_START_MAGIC 0x336ec578u
#define LAYOUT_PVH_INFO_GPA LAYOUT_MB_INFO_GPA

/* pvh_detect - true when @kernel is an ELF executable with a PVH entry note. */
bool pvh_detect(const uint8_t *kernel, size_t kernel_len);

/*
 * pvh_parse - check the ELF and its ranges for @lo; requires the PVH note.
 * Returns 0, -ENOEXEC (not ELF, no note), -EINVAL (inconsistent, entry
 * outside the loaded image), with a reason in @err.
 */
int pvh_parse(const uint8_t *kernel, size_t kernel_len, const struct layout *lo,
	      struct boot_image *img, char *err, size_t err_len);

/*
 * pvh_load - load the ELF, the start info, command line (@cmdline, not NULL)
 * and optional @initrd (module 0, page-aligned high in low RAM), the boot GDT;
 * fill @st: 32-bit protected mode, paging off, CR4 = 0, flat CS 0x08/DS 0x18,
 * TR a 32-bit busy TSS, EBX = start info, EIP = the note's entry, interrupts
 * off. @rsdp_gpa goes to rsdp_paddr. Returns 0 or -errno as pvh_parse(),
 * -E2BIG (initrd or command line does not fit), -EFAULT.
 */
int pvh_load(struct gmem *gm, const struct layout *lo, const uint8_t *kernel, size_t kernel_len,
	     const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp_gpa,
	     struct x86_cpu_state *st, char *err, size_t err_len);

/*
 * pvh_initrd_gpa - where pvh_load() puts an initrd of @initrd_len bytes: page
 * aligned, as high in low RAM as it fits (low_ram_end when @initrd_len is 0;
 * 0 when it is larger than low RAM).
 */
uint64_t pvh_initrd_gpa(const struct layout *lo, size_t initrd_len);

/*
 * pvh_load_info - pvh_load() for an image @img that pvh_parse() checked:
 * copies its segments from @kernel (NULL: the caller already put them in
 * guest RAM), then the start info, command line, initrd and GDT, and fills
 * @st. Same returns as pvh_load().
 */
int pvh_load_info(struct gmem *gm, const struct layout *lo, const struct boot_image *img,
		  const uint8_t *kernel, const uint8_t *initrd, size_t initrd_len,
		  const char *cmdline, uint64_t rsdp_gpa, struct x86_cpu_state *st, char *err,
		  size_t err_len);

#endif
