/* vm_boot.c — loads the guest of a VM from files (or the bundled demo) through arch/x86's loaders.
 */
#include "vm/vm_boot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "arch/x86/boot.h"
#include "devices/vmgenid.h"
#include "util/log.h"
#include "vm/vm.h"
#include "vm/vm_pci.h"

/* The demo guest, embedded by guest/meson.build (length 0 when not built). */
extern const unsigned char vmon_demo_guest[];
extern const unsigned long vmon_demo_guest_len;

struct mapped_file {
	const uint8_t *data;
	size_t len;
};

/*
 * Map @fd, the file @path that vm_config_validate() opened, read-only. 0 or -errno with one line
 * in @err.
 */
static int map_file(const char *what, const char *path, int fd, struct mapped_file *f, char *err,
		    size_t err_len)
{
	struct stat st;

	if (fd < 0) {
		snprintf(err, err_len, "%s '%s': not opened (the configuration was not validated)",
			 what, path);
		return -EBADF;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;

		snprintf(err, err_len, "%s '%s': %s", what, path, strerror(e));
		return -e;
	}
	if (st.st_size == 0) {
		snprintf(err, err_len, "%s '%s': the file is empty", what, path);
		return -ENOEXEC;
	}
	f->len = (size_t)st.st_size;
	f->data = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f->data == MAP_FAILED) {
		int e = errno;

		f->data = NULL;
		snprintf(err, err_len, "%s '%s': %s", what, path, strerror(e));
		return -e;
	}
	return 0;
}

static void unmap_file(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->len);
	f->data = NULL;
}

/*
 * The command line with a `virtio_mmio.device=4K@ADDR:GSI` word per virtio-mmio
 * window, for a guest booted with acpi=off (it reads no DSDT; its kernel
 * needs VIRTIO_MMIO_CMDLINE_DEVICES, as Firecracker's guest kernels have).
 * With ACPI the DSDT alone names them: a kernel with both would register
 * each window twice. NULL when nothing is added (or out of memory: then
 * *@oom).
 */
static char *mmio_cmdline(const struct vm_config *c, bool *oom)
{
	unsigned n = vm_config_virtio_count(c);
	size_t len, used;
	char *s;

	*oom = false;
	if (vm_config_transport(c) != VM_TRANSPORT_MMIO || !n ||
	    !vm_config_cmdline_has(c, "acpi=off"))
		return NULL;
	len = strlen(c->cmdline) + n * 48 + 1;
	s = malloc(len);
	if (!s) {
		*oom = true;
		return NULL;
	}
	used = (size_t)snprintf(s, len, "%s", c->cmdline);
	for (unsigned i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(s + used, len - used, " virtio_mmio.device=4K@0x%llx:%u",
					 (unsigned long long)(LAYOUT_VIRTIO_MMIO_GPA +
							      i * LAYOUT_VIRTIO_MMIO_STRIDE),
					 layout_virtio_mmio_gsi(i));
	return s;
}

int vm_boot_load(struct vm *vm, const struct vm_config *cfg, char *err, size_t err_len)
{
	struct mapped_file kernel = { 0 }, initrd = { 0 };
	struct acpi_tables acpi;
	char note[256] = "";
	struct boot_request req = { .nr_vcpus = vm->nr_vcpus_planned,
				    .cmdline = vm->cfg.cmdline,
				    .unpack = vm->cfg.unpack_kernel,
				    .acpi = &acpi,
				    .note = note,
				    .note_len = sizeof(note) };
	enum boot_format format;
	char why[384] = "";
	char *cmdline;
	bool oom;
	int ret;

	cmdline = mmio_cmdline(&vm->cfg, &oom);
	if (oom) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM; /* nothing to free yet */
	}
	if (cmdline)
		req.cmdline = cmdline;

	/*
	 * Every VM has a VM generation ID at LAYOUT_VMGENID_GPA (reserved in e820) and the GED that
	 * announces a new one on VMGENID_GSI (vm_platform.c wires that pin; a restore raises it).
	 */
	if (acpi_tables_init(&acpi, vm->nr_vcpus_planned, why, sizeof(why)) ||
	    acpi_tables_add_vmgenid(&acpi, LAYOUT_VMGENID_GPA, VMGENID_GSI, why, sizeof(why))) {
		snprintf(err, err_len, "ACPI tables: %s", why);
		ret = -EINVAL;
		goto out;
	}
	/*
	 * With PCI devices the guest finds the ECAM (and the PCI root bridge) in ACPI. Only bus 0
	 * exists, and the MCFG says so: Linux takes the MCFG's last bus as the last one worth
	 * probing, and with 255 it read 32 vendor IDs on each of 255 empty buses looking for peer
	 * host bridges (pcibios_fixup_peer_bridges), ~17,000 port exits per boot.
	 */
	if (vm_config_has_pci(&vm->cfg) && vm_config_transport(&vm->cfg) == VM_TRANSPORT_PCI &&
	    acpi_tables_add_mcfg(&acpi, LAYOUT_PCI_ECAM_GPA, 0, 0, why, sizeof(why))) {
		snprintf(err, err_len, "ACPI tables: %s", why);
		ret = -EINVAL;
		goto out;
	}
	/*
	 * Without PCI, window i of the virtio-mmio devices vm_pci.c creates (in
	 * configuration order: disks, NICs, the class table's, console) is \_SB.VRii.
	 */
	if (vm_config_transport(&vm->cfg) == VM_TRANSPORT_MMIO) {
		for (unsigned i = 0; i < vm_config_virtio_count(&vm->cfg); i++) {
			if (acpi_tables_add_virtio_mmio(
				    &acpi, LAYOUT_VIRTIO_MMIO_GPA + i * LAYOUT_VIRTIO_MMIO_STRIDE,
				    (uint32_t)LAYOUT_VIRTIO_MMIO_STRIDE, layout_virtio_mmio_gsi(i),
				    why, sizeof(why))) {
				snprintf(err, err_len, "ACPI tables: %s", why);
				ret = -EINVAL;
				goto out;
			}
		}
	}

	if (vm->cfg.kernel_path) {
		ret = map_file("kernel", vm->cfg.kernel_path, cfg->kernel_fd, &kernel, err,
			       err_len);
		if (ret)
			goto out;
		req.kernel = kernel.data;
		req.kernel_len = kernel.len;
	} else {
		if (!vmon_demo_guest_len) {
			snprintf(err, err_len,
				 "no --kernel given and this vmon has no demo guest built in");
			ret = -ENOEXEC;
			goto out;
		}
		req.kernel = vmon_demo_guest;
		req.kernel_len = vmon_demo_guest_len;
	}
	if (vm->cfg.initrd_path) {
		ret = map_file("initrd", vm->cfg.initrd_path, cfg->initrd_fd, &initrd, err,
			       err_len);
		if (ret)
			goto out;
		req.initrd = initrd.data;
		req.initrd_len = initrd.len;
	}
	ret = boot_load(&vm->gmem, &vm->layout, &req, &vm->boot_state, &format, NULL, why,
			sizeof(why));
	if (ret) {
		snprintf(err, err_len, "%s: %s",
			 vm->cfg.kernel_path ? vm->cfg.kernel_path : "demo guest", why);
		goto out;
	}
	ret = vmgenid_fill(&vm->gmem, LAYOUT_VMGENID_GPA);
	if (ret) {
		snprintf(err, err_len, "VM generation ID: %s", strerror(-ret));
		goto out;
	}
	log_info("loaded %s %s", boot_format_name(format),
		 vm->cfg.kernel_path ? vm->cfg.kernel_path : "(demo guest)");
	if (note[0]) /* unpacking (the default) could not serve this kernel */
		log_info("kernel not unpacked by vmon (%s): its own decompressor runs", note);
out:
	unmap_file(&kernel);
	unmap_file(&initrd);
	free(cmdline);
	return ret;
}
