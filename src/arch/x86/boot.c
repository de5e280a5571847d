/* boot.c — format detection and the one kernel-loading entry point. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/boot.h"
#include "arch/x86/boot_bzimage.h"
#include "arch/x86/boot_multiboot.h"
#include "arch/x86/boot_pvh.h"
#include "arch/x86/kernel_unpack.h"

enum boot_format boot_detect(const uint8_t *kernel, size_t kernel_len)
{
	if (bzimage_detect(kernel, kernel_len))
		return BOOT_FORMAT_BZIMAGE;
	if (multiboot_detect(kernel, kernel_len))
		return BOOT_FORMAT_MULTIBOOT;
	if (pvh_detect(kernel, kernel_len))
		return BOOT_FORMAT_PVH;
	return BOOT_FORMAT_NONE;
}

const char *boot_format_name(enum boot_format f)
{
	switch (f) {
	case BOOT_FORMAT_BZIMAGE:
		return "bzImage";
	case BOOT_FORMAT_MULTIBOOT:
		return "multiboot";
	case BOOT_FORMAT_PVH:
		return "PVH ELF";
	case BOOT_FORMAT_BZIMAGE_UNPACKED:
		return "bzImage (unpacked by vmon, PVH entry)";
	default:
		return "unknown";
	}
}

#define UNPACK_ALIGN (2ull << 20)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Gives guest RAM back (zero on the next touch); clears it where that fails. */
static void discard(uint8_t *hva, size_t len)
{
	if (madvise(hva, len, MADV_DONTNEED))
		memset(hva, 0, len);
}

/*
 * Unpacks the bzImage of @req into scratch guest RAM just below where
 * pvh_load() puts the initrd, then loads the vmlinux found there through PVH.
 * Returns 0, or -errno with the reason in @err: -ENOTSUP (unsupported
 * compression, no PVH entry, no room) or the unpacker's and loader's errors.
 */
static int load_unpacked(struct gmem *gm, const struct layout *lo, const struct boot_request *req,
			 uint64_t rsdp, struct x86_cpu_state *st, char *err, size_t err_len)
{
	struct kernel_payload p;
	struct boot_image img;
	uint64_t initrd_room = align_up(req->initrd_len, UNPACK_ALIGN), top, scratch, len;
	uint8_t *hva;
	int ret;

	ret = kernel_payload_find(req->kernel, req->kernel_len, &p, err, err_len);
	if (ret)
		return ret;
	if (!p.supported)
		return arch_err(err, err_len, -ENOTSUP,
				"%s payloads are left to the kernel's decompressor", p.format);
	len = align_up(p.unpacked_len, UNPACK_ALIGN);
	top = lo->low_ram_end - initrd_room;
	if (initrd_room > lo->low_ram_end || len > top ||
	    ((top - len) & ~(UNPACK_ALIGN - 1)) < LAYOUT_HIGH_MEM_GPA)
		return arch_err(err, err_len, -ENOTSUP,
				"no room for the %zu-byte unpacked kernel in guest RAM",
				p.unpacked_len);
	scratch = (top - len) & ~(UNPACK_ALIGN - 1);
	hva = gmem_ptr(gm, scratch, len);
	if (!hva)
		return arch_err(err, err_len, -EFAULT, "guest RAM does not cover 0x%llx..0x%llx",
				(unsigned long long)scratch, (unsigned long long)(scratch + len));
	ret = kernel_unpack(&p, hva, err, err_len);
	if (!ret && !pvh_detect(hva, p.unpacked_len))
		ret = arch_err(err, err_len, -ENOTSUP,
			       "the unpacked kernel has no PVH entry (CONFIG_PVH)");
	if (!ret && !(ret = pvh_parse(hva, p.unpacked_len, lo, &img, err, err_len)) &&
	    img.end_gpa > scratch)
		ret = arch_err(
			err, err_len, -ENOTSUP,
			"the unpacked kernel (up to 0x%llx) would overlap its own scratch space",
			(unsigned long long)img.end_gpa);
	if (!ret)
		ret = pvh_load(gm, lo, hva, p.unpacked_len, req->initrd, req->initrd_len,
			       req->cmdline ? req->cmdline : BOOT_DEFAULT_CMDLINE, rsdp, st, err,
			       err_len);
	discard(hva, len);
	return ret;
}

int boot_load(struct gmem *gm, const struct layout *lo, const struct boot_request *req,
	      struct x86_cpu_state *st, enum boot_format *format, uint64_t *rsdp_gpa, char *err,
	      size_t err_len)
{
	struct acpi_tables def;
	const struct acpi_tables *acpi = req->acpi;
	enum boot_format f;
	uint64_t rsdp;
	int ret;

	f = boot_detect(req->kernel, req->kernel_len);
	if (f == BOOT_FORMAT_NONE)
		return arch_err(err, err_len, -ENOEXEC,
				"kernel: neither a bzImage (no \"HdrS\" header), a multiboot image "
				"(no header in the first 8 KiB) nor a PVH ELF (no "
				"XEN_ELFNOTE_PHYS32_ENTRY note)");
	if (req->initrd_len && !req->initrd)
		return arch_err(err, err_len, -EINVAL, "initrd: length without data");
	if (!acpi) {
		ret = acpi_tables_init(&def, req->nr_vcpus, err, err_len);
		if (ret)
			return ret;
		acpi = &def;
	} else if (acpi->nr_cpus != req->nr_vcpus) {
		return arch_err(err, err_len, -EINVAL,
				"acpi: tables describe %u vCPUs, the VM has %u", acpi->nr_cpus,
				req->nr_vcpus);
	}
	ret = acpi_tables_write(acpi, gm, &rsdp, err, err_len);
	if (ret)
		return ret;

	if (f == BOOT_FORMAT_BZIMAGE && req->unpack) {
		char why[256] = "";

		/* Anything in the way (even a payload that will not unpack): the usual path. */
		if (!load_unpacked(gm, lo, req, rsdp, st, why, sizeof(why)))
			f = BOOT_FORMAT_BZIMAGE_UNPACKED;
		else if (req->note)
			snprintf(req->note, req->note_len, "%s", why);
	}
	if (f == BOOT_FORMAT_BZIMAGE_UNPACKED)
		ret = 0;
	else if (f == BOOT_FORMAT_BZIMAGE)
		ret = bzimage_load(
			gm, lo, req->kernel, req->kernel_len, req->initrd, req->initrd_len,
			req->cmdline ? req->cmdline : BOOT_DEFAULT_CMDLINE, rsdp, st, err, err_len);
	else if (f == BOOT_FORMAT_MULTIBOOT)
		ret = multiboot_load(gm, lo, req->kernel, req->kernel_len, req->initrd,
				     req->initrd_len, req->cmdline ? req->cmdline : "", st, err,
				     err_len);
	else
		ret = pvh_load(gm, lo, req->kernel, req->kernel_len, req->initrd, req->initrd_len,
			       req->cmdline ? req->cmdline : BOOT_DEFAULT_CMDLINE, rsdp, st, err,
			       err_len);
	if (ret)
		return ret;
	if (format)
		*format = f;
	if (rsdp_gpa)
		*rsdp_gpa = rsdp;
	return 0;
}
