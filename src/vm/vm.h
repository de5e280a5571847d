/*
 * vm.h — one virtual machine: its memory, buses, devices, vCPU threads and
 * lifecycle (create -> start -> pause/resume -> end). The only state vmon has
 * beyond what main.c parses lives in a struct vm.
 */
#ifndef VMON_VM_VM_H
#define VMON_VM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch/x86/layout.h"
#include "bus/bus.h"
#include "base/device.h"
#include "hv/hv.h"
#include "mem/gmem.h"
#include "base/evloop.h"
#include "vm/exit_status.h"
#include "vm/runctl.h"
#include "vm/vcpu.h"
#include "vm/vm_config.h"

struct vcpu;
struct vm_pci;

struct vm {
	struct vm_config cfg; /* a deep copy, owned */
	struct hv *hv;
	struct layout layout; /* guest physical address map */
	struct gmem gmem;
	struct bus pio;
	struct bus mmio;
	struct evloop *el;
	struct device *devices; /* every device model, for reset/save/load/destroy */
	unsigned nr_devices;
	struct vcpu *vcpus[VM_MAX_CPUS];
	unsigned nr_vcpus;
	unsigned nr_vcpus_planned; /* cfg.cpus, known before the vCPUs exist (ACPI) */
	struct x86_cpu_state boot_state; /* for vCPU 0 */
	struct runctl rc; /* pause, resume and end of the vCPU threads */
	struct vcpu_env vcpu_env; /* what every vCPU thread is given */
	void *platform; /* vm_platform.c's devices */
	struct vm_pci *pci; /* vm_pci.c's bus and backends, NULL without PCI */
	bool dirty_tracking; /* KVM's dirty log and gmem's write bitmap are on (vm_snapshot.c) */
	bool defer_disk_locks; /* a migration's destination: disks locked at the hand-over */
};

/*
 * vm_create - build a VM from @cfg (validated by the caller): guest RAM with
 * the guest loaded into it (kernel, initrd, command line, ACPI tables: done
 * first, so a bad kernel is refused before any KVM object exists), then the
 * KVM VM, irqchip, platform devices and vCPUs, created but not running.
 * @el is the event loop that serves the VM's host I/O. Returns 0, or -errno
 * with one line in @err; *@user_error tells whether the user's input (kernel,
 * initrd, command line) was at fault rather than the host.
 */
int vm_create(struct vm **out, const struct vm_config *cfg, struct evloop *el, bool *user_error,
	      char *err, size_t err_len);

/*
 * struct vm_mem_source - guest RAM laid out as @hdr (validated by
 * snapfile_parse) says: mapped from a snapshot's memory file @mem_path, or
 * with @mem_path NULL anonymous and zeroed, for a migration to fill.
 * @defer_disk_locks opens the disk images without their locks (a
 * migration's destination takes them at the hand-over: vm_pci_lock_disks).
 */
struct snapfile_header;
struct vm_mem_source {
	const struct snapfile_header *hdr;
	const char *mem_path;
	const char *uffd_path; /* instead of @mem_path: a Uffd handler fills RAM (memuffd.h) */
	bool defer_disk_locks;
};

/*
 * vm_create_from - vm_create(), but with @src (not NULL) guest RAM is mapped
 * from a snapshot's memory file and nothing is loaded into it: the VM is then
 * made to be given a snapshot's vCPU and device state (vm_snapshot.c).
 */
int vm_create_from(struct vm **out, const struct vm_config *cfg, const struct vm_mem_source *src,
		   struct evloop *el, bool *user_error, char *err, size_t err_len);

/* vm_start - give vCPU 0 vm->boot_state and start one thread per vCPU. 0 or -errno. */
int vm_start(struct vm *vm);

/* vm_start_vcpus - start one thread per vCPU with the registers they have (a restore). 0 or -errno.
 */
int vm_start_vcpus(struct vm *vm);

/*
 * vm_end - end the VM with @status (first caller wins): stop every vCPU at
 * its next exit and stop the event loop. Any thread; not from a signal handler.
 */
void vm_end(struct vm *vm, int status, const char *reason);

/* vm_end_reason / vm_restart_requested - how it ended; after vm_join. */
const char *vm_end_reason(struct vm *vm);
bool vm_restart_requested(struct vm *vm);

/* vm_join - wait for every vCPU thread to finish; returns the exit status. */
int vm_join(struct vm *vm);

/*
 * vm_pause / vm_resume - park every vCPU at an exit boundary and wait until
 * all are parked; let them run again. Idempotent. 0, or -EINVAL when the VM
 * is not running (or has ended).
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);

/*
 * vm_ctrl_alt_del - press Ctrl-Alt-Del on the guest's keyboard (the i8042),
 * as Firecracker's SendCtrlAltDel does; Linux then reboots or shuts down as
 * its init decides. 0, or -EINVAL when the VM has ended.
 */
int vm_ctrl_alt_del(struct vm *vm);

/*
 * vm_on_loop - run @fn(@job) on @vm's event-loop thread, between two device
 * handlers (evloop_call), or here when the VM has no loop yet. For the VM
 * layer's changes to running devices.
 */
void vm_on_loop(struct vm *vm, void (*fn)(void *), void *job);

/*
 * vm_set_disk_limit / vm_set_net_limit - new rate limiters for the disk or NIC
 * whose configuration id is @id, in the running VM and in its configuration
 * (what a snapshot records). Run on the event loop, between two device
 * handlers. 0, -ENOENT (no such id), or -EOPNOTSUPP (a NIC on vhost-net).
 */
int vm_set_disk_limit(struct vm *vm, const char *id, const struct rate_limit_config *c);
/*
 * vm_set_disk_path - the running VM's disk @id now on the image @path (a
 * PATCH /drives path_on_host: vm_pci_set_disk_path, on the event loop); the
 * configuration (and so a later snapshot) names @path. Any thread but the
 * loop's. 0, or -errno with one line in @err.
 */
int vm_set_disk_path(struct vm *vm, const char *id, const char *path, char *err, size_t err_len);

struct virtio_balloon_stats;
/*
 * vm_balloon_set_target / vm_balloon_set_interval / vm_balloon_stats - the
 * running VM's balloon: a new target in MiB (-EINVAL above the guest's RAM),
 * a new statistics interval (-EINVAL to turn statistics on or off, as
 * Firecracker), the latest statistics. -ENODEV without a balloon.
 */
int vm_balloon_set_target(struct vm *vm, uint32_t mib);
int vm_balloon_set_interval(struct vm *vm, uint32_t seconds);
int vm_balloon_stats(struct vm *vm, struct virtio_balloon_stats *out);
int vm_set_net_limit(struct vm *vm, const char *id, const struct rate_limit_config *rx,
		     const struct rate_limit_config *tx);

/* vm_destroy - free everything; vCPU threads must have been joined. */
void vm_destroy(struct vm *vm);

/* vm_stats_print - the exit-statistics table (per vCPU, per exit reason, per port/range). */
void vm_stats_print(struct vm *vm, FILE *f);

/*
 * vm_dump_vcpus - every vCPU's registers, run state and LAPIC summary, read
 * while the vCPUs are briefly paused; a vCPU that does not stop within a
 * second is named as such. For hangs (SIGUSR2). Any thread but a vCPU's.
 */
void vm_dump_vcpus(struct vm *vm, FILE *f);

/* vm_stats_json - the same as a JSON object text; malloc'd, NULL on ENOMEM. */
char *vm_stats_json(struct vm *vm);

/* vm_add_device - record a device for the VM's lifecycle calls; 0 or -ENOMEM. */
int vm_add_device(struct vm *vm, const struct device_ops *ops, void *dev);

#endif
