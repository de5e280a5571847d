/*
 * vm_snapshot.h — saving a paused VM to a state file and a memory file, and
 * building a running (or paused) VM from them: Firecracker's snapshot model.
 *
 * The state file (snapshot/snapfile.h) holds the machine configuration, the
 * VM's in-kernel devices (KVM clock, PIC, IOAPIC, PIT), every vCPU and every
 * device model of the VM's device list, each as its own checked section. The
 * memory file (snapshot/memfile.h) holds guest RAM, sparse; a restore maps it
 * MAP_PRIVATE, so only the pages the guest touches are read.
 */
#ifndef VMON_VM_VM_SNAPSHOT_H
#define VMON_VM_VM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/vm_config.h"

struct vm;
struct evloop;

enum vm_snapshot_type { VM_SNAPSHOT_FULL, VM_SNAPSHOT_DIFF };

/*
 * vm_snapshot_create - write @vm's state to @state_path and its RAM to
 * @mem_path. The VM must be paused (the user's pause); device I/O is drained
 * and held still on the event-loop thread while the state is taken. A Diff
 * snapshot writes only the pages dirtied since dirty tracking started or the
 * previous snapshot (needs tracking on: vm_dirty_track). Any thread but a
 * vCPU's. 0, or -errno with one line in @err.
 */
int vm_snapshot_create(struct vm *vm, enum vm_snapshot_type type, const char *state_path,
		       const char *mem_path, char *err, size_t err_len);

/* struct vm_net_override - Firecracker's network_overrides: iface @id gets TAP @tap. */
struct vm_net_override {
	const char *id;
	const char *tap;
};

/* struct vm_restore_opts - what PUT /snapshot/load and `run --restore` say. */
struct vm_restore_opts {
	const char *state_path;
	const char *mem_path;
	bool resume; /* run at once; otherwise the VM is restored paused */
	bool track_dirty; /* dirty-page tracking from the start (for Diff snapshots) */
	bool clock_realtime; /* move the guest's clock to the host's wall clock */
	const struct vm_net_override *net_overrides;
	unsigned nr_net_overrides;
};

/*
 * vm_restore - validate the whole state file, then build the VM it describes
 * on @el with RAM mapped from the memory file, load every vCPU and device,
 * and start its vCPUs (parked unless @o->resume). *@cfg_out (may be NULL)
 * receives the restored machine configuration (free it with
 * vm_config_free). 0, or -errno with one line in @err; *@user_error tells a
 * bad file or argument from a host failure. Nothing runs on failure.
 */
int vm_restore(struct vm **out, const struct vm_restore_opts *o, struct evloop *el,
	       struct vm_config *cfg_out, bool *user_error, char *err, size_t err_len);

/*
 * vm_snapshot_check - everything a restore checks of state file @buf/@len
 * before any VM exists (the file's framing and checksums, the configuration,
 * every vCPU and the VM section; device sections by their framing), without
 * the host CPU check. For fuzzing and tests. 0 or -errno with one line in @err.
 */
int vm_snapshot_check(const void *buf, size_t len, char *err, size_t err_len);

/*
 * vm_snapshot_decode_section - decode one "vm_config", "vcpu" or "kvm_vm"
 * payload of @version as a restore would, and throw it away: 0, or -EINVAL
 * for anything malformed (or another tag). For fuzzing and tests.
 */
int vm_snapshot_decode_section(const char *tag, uint32_t version, const void *payload, size_t len);

/* vm_dirty_track - start (or stop) dirty-page tracking for Diff snapshots. 0 or -errno. */
int vm_dirty_track(struct vm *vm, bool on);

#endif
