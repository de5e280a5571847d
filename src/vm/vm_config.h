/*
 * vm_config.h — everything needed to build one VM, as plain data. The command
 * line (cli.c), the config file and the REST API (api/) fill it in; vm.c builds
 * the VM from it. Owns its strings and, once vm_config_validate() opened them,
 * the kernel and initrd files (vm_config_free releases both).
 */
#ifndef VMON_VM_VM_CONFIG_H
#define VMON_VM_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_template.h"
#include "util/token_bucket.h"
#include "virtio/virtio_class.h"

#define VM_MAX_CPUS 64
#define VM_MAX_DISKS 16 /* Kata sends 9; with 4 NICs, rng and console: 22 of the 31 PCI slots */
#define VM_MAX_NETS 4
#define VM_DEFAULT_MEM_BYTES (256ull << 20)

enum vm_console { VM_CONSOLE_SERIAL, VM_CONSOLE_VIRTIO };
/*
 * How the virtio devices reach the guest: PCI (virtio-pci behind a PCIe host
 * bridge, MSI-X) or MMIO (virtio-mmio windows, as Firecracker's guests
 * expect). AUTO: MMIO when the command line says pci=off (a guest told to
 * ignore PCI would find no devices there), else PCI.
 */
enum vm_transport { VM_TRANSPORT_AUTO, VM_TRANSPORT_PCI, VM_TRANSPORT_MMIO };

struct vm_disk_config {
	char *id; /* drive_id (API) or id= (CLI); never NULL once added */
	char *path; /* host image file */
	bool read_only;
	bool is_root; /* Firecracker's is_root_device: informs the cmdline */
	struct rate_limit_config limit; /* Firecracker's rate_limiter; all 0: none */
};

struct vm_net_config {
	char *id; /* iface_id */
	char *tap; /* host_dev_name */
	uint8_t mac[6];
	bool has_mac;
	bool vhost; /* hand the queues to /dev/vhost-net (an error at start when it cannot) */
	struct rate_limit_config rx_limit; /* rx_rate_limiter / tx_rate_limiter; all 0: none */
	struct rate_limit_config tx_limit;
	bool mmds; /* named in PUT /mmds/config's network_interfaces */
};

struct mmds;

#define VM_MMDS_DEFAULT_IPV4 0xa9fea9feu /* 169.254.169.254 */

/* Firecracker's PUT /mmds/config: off unless @on (the NICs are those with mmds set). */
struct vm_mmds_config {
	bool on;
	uint8_t version; /* 1 or 2 */
	uint32_t ipv4; /* host byte order, link-local 169.254.1.0-169.254.254.255 */
	bool imds_compat; /* always answer in the IMDS format */
	struct mmds *store; /* the data store the guest reads (the API's; not owned, not saved);
			     * NULL: no endpoint on the NICs */
};

/* Firecracker's balloon (PUT /balloon): off unless @on. */
struct vm_balloon_config {
	bool on;
	uint32_t amount_mib; /* the target at start */
	bool deflate_on_oom;
	uint32_t stats_interval_s; /* 0: no statistics */
	bool free_page_reporting;
};

/* Firecracker's hybrid vsock (PUT /vsock): none unless @uds_path. */
struct vm_vsock_config {
	char *id; /* vsock_id (older clients); may be NULL */
	uint64_t cid; /* guest_cid, >= 3 */
	char *uds_path; /* the host listener; guest connections to port P go to <uds_path>_P */
};

struct vm_config {
	char *kernel_path; /* NULL: the bundled demo guest */
	char *initrd_path; /* optional */
	char *cmdline; /* optional; NULL means the loader's default */
	unsigned cpus; /* 1..VM_MAX_CPUS */
	uint64_t mem_bytes; /* guest RAM */
	bool stats; /* print exit statistics when the VM ends */
	bool boot_timer; /* Firecracker's --boot-timer: port 0x3f0 logs the guest's boot time */
	bool firecracker_names; /* vCPU threads named "fc_vcpu N", as Firecracker's (the
				 * compatibility mode: runtimes find them by that name) */
	bool unpack_kernel; /* unpack a bzImage in vmon, enter through PVH (kernel_unpack.h);
			     * default on, --no-unpack-kernel runs the kernel's decompressor */
	bool reboot_restarts; /* guest reboot restarts the VM instead of ending vmon */
	bool track_dirty; /* dirty-page tracking from the start, for Diff snapshots */
	enum cpu_template cpu_template; /* Firecracker's static CPU template; NONE: the host's */
	enum vm_console console;
	enum vm_transport transport;
	/* the parameterless virtio devices (virtio/virtio_class.h): class i when classes[i] */
	bool classes[VIRTIO_NR_CLASSES];
	struct vm_balloon_config balloon;
	struct vm_vsock_config vsock;
	struct vm_mmds_config mmds;
	struct vm_disk_config disks[VM_MAX_DISKS];
	unsigned nr_disks;
	struct vm_net_config nets[VM_MAX_NETS];
	unsigned nr_nets;
	/*
	 * The kernel and initrd opened (read-only, checked to be regular files) by
	 * vm_config_validate(), which vm_boot_load() maps: the one open of each. -1
	 * while not open. A VM's copy of the config does not hold them.
	 */
	int kernel_fd;
	int initrd_fd;
};

/* vm_config_init - the defaults: 1 vCPU, 256 MiB, serial console, demo guest. */
void vm_config_init(struct vm_config *cfg);

/* vm_config_free - free the strings, close the files; leaves @cfg re-initialised. */
void vm_config_free(struct vm_config *cfg);

/*
 * vm_config_validate - check what can be checked before a VM exists: files
 * present and readable (writable for rw disks), sizes and counts in range;
 * and open the kernel and initrd into @cfg->kernel_fd / initrd_fd (closing
 * what an earlier call opened), which a VM made from @cfg loads. On error
 * returns -errno and writes one line (no newline) into @err; nothing is left
 * open then.
 */
int vm_config_validate(struct vm_config *cfg, char *err, unsigned err_len);

/*
 * vm_config_check_file - the check vm_config_validate() makes of one file,
 * made where the file is named (PUT /boot-source, PUT /drives): @path opens
 * (read-write when @need_write) without blocking, and is a regular file or,
 * for a @disk, a block device that no other process holds a conflicting lock
 * on (a writer for a read-only disk, anyone for a read-write one). Nothing
 * stays open. Returns 0, or -errno with one line in @err.
 */
int vm_config_check_file(const char *what, const char *path, bool disk, bool need_write, char *err,
			 size_t err_len);

/* vm_config_cmdline_has - does @cfg's kernel command line have @word (whitespace-separated)? */
bool vm_config_cmdline_has(const struct vm_config *cfg, const char *word);

/* vm_config_transport - @cfg's transport, AUTO resolved (PCI or MMIO). */
enum vm_transport vm_config_transport(const struct vm_config *cfg);

/* vm_mmds_ipv4_valid - @ipv4 (host order) is an address Firecracker takes for MMDS. */
static inline bool vm_mmds_ipv4_valid(uint32_t ipv4)
{
	unsigned third = (ipv4 >> 8) & 0xff;

	return (ipv4 >> 16) == 0xa9fe && third >= 1 && third <= 254;
}

/* vm_config_add_class - @cfg asks for a device of class @cls (asking again changes nothing). */
void vm_config_add_class(struct vm_config *cfg, const struct virtio_class *cls);

/* vm_config_has_class - @cfg asks for a device of the class called @name. */
bool vm_config_has_class(const struct vm_config *cfg, const char *name);

/* vm_config_class_count - how many class-table devices @cfg asks for. */
unsigned vm_config_class_count(const struct vm_config *cfg);

/* vm_config_virtio_count - how many virtio devices @cfg asks for (disks, NICs, the class table's,
 * console, balloon, vsock). */
unsigned vm_config_virtio_count(const struct vm_config *cfg);

/*
 * parse_size - "512M", "2G", "4096K", "1048576" (bytes) into *bytes. Suffixes
 * K, M, G, T (binary, case-insensitive, optional trailing "iB"/"B").
 * Returns 0 or -EINVAL (empty, junk, zero, overflow).
 */
int parse_size(const char *s, uint64_t *bytes);

/* parse_mac - "aa:bb:cc:dd:ee:ff" into @mac. 0 or -EINVAL. */
int parse_mac(const char *s, uint8_t mac[6]);

#endif
