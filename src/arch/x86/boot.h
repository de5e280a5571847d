/*
 * boot.h — vmon's one entry point for loading an x86 guest kernel: detects the
 * format (Linux bzImage by its setup header, else multiboot v1, else a PVH
 * ELF with a XEN_ELFNOTE_PHYS32_ENTRY note), writes the
 * ACPI tables, loads the kernel, initrd and command line into guest memory,
 * and returns the boot vCPU's register state.
 *
 * Default command line for Linux when none is given: BOOT_DEFAULT_CMDLINE,
 * "console=ttyS0 reboot=k panic=1" — serial console on COM1, reboot through
 * the keyboard controller (vmon's i8042 model), and reboot one second after a
 * panic (which vmon turns into a reset event) instead of hanging. PVH
 * kernels get the same default (a PVH ELF is most often a Linux vmlinux);
 * multiboot guests get an empty command line by default.
 */
#ifndef VMON_ARCH_X86_BOOT_H
#define VMON_ARCH_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/acpi.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/layout.h"
#include "mem/gmem.h"

#define BOOT_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=1"

enum boot_format {
	BOOT_FORMAT_NONE,
	BOOT_FORMAT_BZIMAGE,
	BOOT_FORMAT_MULTIBOOT,
	BOOT_FORMAT_PVH,
	BOOT_FORMAT_BZIMAGE_UNPACKED, /* a bzImage unpacked by vmon, entered through PVH */
};

/*
 * struct boot_request - what to boot. The buffers are only read during
 * boot_load() and may be freed after it returns.
 */
struct boot_request {
	const uint8_t *kernel; /* whole image file; untrusted */
	size_t kernel_len;
	const uint8_t *initrd; /* NULL for none */
	size_t initrd_len;
	const char *cmdline; /* NULL: the format's default (see above) */
	unsigned nr_vcpus; /* 1..ACPI_MAX_CPUS, for the MADT */
	/* ACPI tables to write; NULL: acpi_tables_init(nr_vcpus) without MCFG. */
	const struct acpi_tables *acpi;
	/*
	 * Unpack a bzImage in vmon and enter its vmlinux through PVH when the
	 * payload's format is supported, the vmlinux has a PVH entry and there
	 * is room (kernel_unpack.h); otherwise boot it through the Linux boot
	 * protocol as usual. The decompression scratch space is guest RAM below
	 * the initrd, discarded (zero again) before boot_load() returns.
	 */
	bool unpack;
	char *note; /* when not NULL: why an unpack was not done (one line) */
	size_t note_len;
};

/* boot_detect - the format of @kernel, BOOT_FORMAT_NONE when unknown. */
enum boot_format boot_detect(const uint8_t *kernel, size_t kernel_len);

/* boot_format_name - "bzImage", "multiboot", "PVH ELF", ... or "unknown". */
const char *boot_format_name(enum boot_format f);

/*
 * boot_load - load @req into @gm, whose RAM must be exactly the regions of
 * layout_ram_regions(@lo) (mapped with gmem_add_ram, zeroed).
 * On success returns 0, fills @st with the boot vCPU's (vCPU 0) state, and
 * stores the format in *@format and the RSDP address in *@rsdp_gpa (either
 * pointer may be NULL). On failure returns -ENOEXEC (unknown or unusable
 * format), -EINVAL (malformed), -E2BIG (does not fit), -EFAULT (guest memory
 * does not match @lo), with a one-line reason in @err. Guest memory may be
 * partly written on failure. Other vCPUs start in wait-for-SIPI; they need
 * only their CPUID (cpuid_policy_build) and MSRs (msr_boot_list).
 */
int boot_load(struct gmem *gm, const struct layout *lo, const struct boot_request *req,
	      struct x86_cpu_state *st, enum boot_format *format, uint64_t *rsdp_gpa, char *err,
	      size_t err_len);

#endif
