/* boot.c — format detection and the one kernel-loading entry point. */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/boot.h"
#include "arch/x86/boot_bzimage.h"
#include "arch/x86/boot_multiboot.h"
#include "arch/x86/boot_pvh.h"
#include "arch/x86/kernel_unpack.h"
#include "arch/x86/mptable.h"

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

#define HUGE_BYTES (2ull << 20)
#define UNPACK_HEAD_BYTES 0x2000ull /* unpacked first, for the ELF and program headers */

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Zeroes guest RAM [@from, @to): whole 2 MiB pages are given back (zero on
 * the next touch, and still huge then), the edges cleared.
 */
static void clear_guest(struct gmem *gm, uint64_t from, uint64_t to)
{
	uint64_t a = align_up(from, HUGE_BYTES), b = to & ~(HUGE_BYTES - 1);
	uint8_t *hva = gmem_ptr(gm, from, to - from);

	if (!hva || to <= from)
		return;
	if (a >= b || madvise(hva + (a - from), b - a, MADV_DONTNEED)) {
		memset(hva, 0, to - from);
		return;
	}
	memset(hva, 0, a - from);
	memset(hva + (b - from), 0, to - b);
}

/*
 * Where the unpacked vmlinux goes as one piece: the lowest base from which
 * every PT_LOAD can slide down (or stay) to its p_paddr, read from the ELF
 * and program headers in @head. 0, or -ENOEXEC / -EINVAL.
 */
static int unpack_base(const uint8_t *head, size_t head_len, uint64_t *base)
{
	Elf64_Ehdr eh;
	bool any = false;

	if (head_len < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, head, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > head_len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > head_len - eh.e_phoff)
		return -ENOEXEC;
	*base = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, head + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_filesz)
			continue;
		if (ph.p_paddr < ph.p_offset)
			return -EINVAL;
		if (!any || ph.p_paddr - ph.p_offset > *base)
			*base = ph.p_paddr - ph.p_offset;
		any = true;
	}
	return any ? 0 : -ENOEXEC;
}

/*
 * The vmlinux lies unpacked at @base (@hva, @len bytes): slide each segment
 * down to its address in file order, zero its bss, then zero what is left
 * of the unpacked copy (headers, gaps, the relocation table). Refused
 * (-ENOTSUP) when a segment would overwrite bytes not yet moved.
 */
static int place_segments(struct gmem *gm, const uint8_t *hva, uint64_t base, uint64_t len,
			  const struct boot_image *img, char *err, size_t err_len)
{
	uint64_t cur = base;

	for (unsigned i = 0; i < img->nr_segs; i++) {
		const struct boot_segment *s = &img->seg[i], *n = s + 1;

		if (s->gpa > base + s->file_off ||
		    (i + 1 < img->nr_segs &&
		     (n->file_off < s->file_off + s->file_len || n->gpa < s->gpa + s->mem_len ||
		      s->gpa + s->mem_len > base + n->file_off)))
			return arch_err(
				err, err_len, -ENOTSUP,
				"segment %u of the unpacked kernel cannot be moved in place", i);
	}
	for (unsigned i = 0; i < img->nr_segs; i++) {
		const struct boot_segment *s = &img->seg[i];
		uint8_t *dst = gmem_ptr(gm, s->gpa, s->mem_len);

		if (!dst)
			return arch_err(err, err_len, -EFAULT, "guest RAM does not cover 0x%llx",
					(unsigned long long)s->gpa);
		memmove(dst, hva + s->file_off, s->file_len);
		memset(dst + s->file_len, 0, s->mem_len - s->file_len);
	}
	for (unsigned i = 0; i < img->nr_segs; i++) {
		const struct boot_segment *s = &img->seg[i];

		if (s->gpa > cur)
			clear_guest(gm, cur, s->gpa < base + len ? s->gpa : base + len);
		if (s->gpa + s->mem_len > cur)
			cur = s->gpa + s->mem_len;
	}
	if (cur < base + len)
		clear_guest(gm, cur, base + len);
	return 0;
}

/*
 * Unpacks the bzImage of @req straight into guest RAM, at the base from which
 * every segment of the vmlinux slides down to its own address, moves them
 * there and enters through PVH (no scratch copy: the unpacked bytes are
 * mostly in place already, and guest RAM is touched only where the kernel
 * lies). Returns 0, or -errno with the reason in @err: -ENOTSUP (unsupported
 * compression, no PVH entry, no room, a layout that cannot be moved in
 * place) or the unpacker's and loader's errors; guest RAM is left zero then.
 */
static int load_unpacked(struct gmem *gm, const struct layout *lo, const struct boot_request *req,
			 uint64_t rsdp, struct x86_cpu_state *st, char *err, size_t err_len)
{
	struct kernel_payload p;
	struct boot_image img;
	uint8_t head[UNPACK_HEAD_BYTES];
	uint64_t base, top = pvh_initrd_gpa(lo, req->initrd_len), hn;
	uint8_t *hva;
	int ret;

	ret = kernel_payload_find(req->kernel, req->kernel_len, &p, err, err_len);
	if (ret)
		return ret;
	if (!p.supported)
		return arch_err(err, err_len, -ENOTSUP,
				"%s payloads are left to the kernel's decompressor", p.format);
	hn = p.unpacked_len < sizeof(head) ? p.unpacked_len : sizeof(head);
	ret = kernel_unpack_head(&p, head, hn, err, err_len);
	if (ret)
		return ret;
	if (unpack_base(head, hn, &base))
		return arch_err(err, err_len, -ENOTSUP,
				"the unpacked kernel is not an ELF64 vmlinux");
	if (!boot_range_ok(lo, base, p.unpacked_len) || base + p.unpacked_len > top)
		return arch_err(err, err_len, -ENOTSUP,
				"no room for the %zu-byte unpacked kernel at 0x%llx",
				p.unpacked_len, (unsigned long long)base);
	hva = gmem_ptr(gm, base, p.unpacked_len);
	if (!hva)
		return arch_err(err, err_len, -EFAULT, "guest RAM does not cover 0x%llx+0x%zx",
				(unsigned long long)base, p.unpacked_len);
	ret = kernel_unpack(&p, hva, err, err_len);
	if (!ret && !pvh_detect(hva, p.unpacked_len))
		ret = arch_err(err, err_len, -ENOTSUP,
			       "the unpacked kernel has no PVH entry (CONFIG_PVH)");
	if (!ret)
		ret = pvh_parse(hva, p.unpacked_len, lo, &img, err, err_len);
	if (!ret)
		ret = place_segments(gm, hva, base, p.unpacked_len, &img, err, err_len);
	if (!ret)
		ret = pvh_load_info(gm, lo, &img, NULL, req->initrd, req->initrd_len,
				    req->cmdline ? req->cmdline : BOOT_DEFAULT_CMDLINE, rsdp, st,
				    err, err_len);
	if (ret)
		clear_guest(gm, base, base + p.unpacked_len);
	return ret;
}

int boot_load(struct gmem *gm, const struct layout *lo, const struct boot_request *req,
	      struct x86_cpu_state *st, enum boot_format *format, uint64_t *rsdp_gpa, char *err,
	      size_t err_len)
{
	struct acpi_tables def;
	const struct acpi_tables *acpi = req->acpi;
	enum boot_format f;
	uint32_t sig, ebx, ecx, edx;
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
	/* For a guest booted with acpi=off: the same CPUs and IOAPIC in an MP table. */
	__cpuid(1, sig, ebx, ecx, edx);
	ret = mptable_write(gm, LAYOUT_MPTABLE_GPA, req->nr_vcpus, sig, edx, err, err_len);
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
