/* boot.c — format detection and the one kernel-loading entry point. */
#include <errno.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/boot.h"
#include "arch/x86/boot_bzimage.h"
#include "arch/x86/boot_multiboot.h"
#include "arch/x86/boot_pvh.h"

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
	default:
		return "unknown";
	}
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

	if (f == BOOT_FORMAT_BZIMAGE)
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
