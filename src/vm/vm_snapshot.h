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
	const char *uffd_path; /* instead of @mem_path: the socket of a Uffd page-fault handler */
	bool resume; /* run at once; otherwise the VM is restored paused */
	bool track_dirty; /* dirty-page tracking from the start (for Diff snapshots) */
	bool clock_realtime; /* move the guest's clock to the host's wall clock */
	const struct vm_net_override *net_overrides;
	unsigned nr_net_overrides;
	bool migrated; /* the same guest moved here, not a copy: its generation ID stays */
	bool firecracker_names; /* vm_config's, for the restored VM (not in the snapshot) */
	struct mmds *mmds_store; /* vm_config's mmds.store, likewise */
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

/*
 * vm_snapshot_decode_config - a "vm_config" payload of @version into @c
 * (initialised by the caller; vm_config_free it either way). 0 or -EINVAL.
 * For tests.
 */
int vm_snapshot_decode_config(uint32_t version, const void *payload, size_t len,
			      struct vm_config *c);

/* ---- the pieces live migration (vm_migrate.c) shares with snapshots ---- */

struct snapfile_header;
struct state_writer;

/* vm_state_header - @hdr for @vm: versions, host CPU, vCPUs, RAM layout (CPUID and TSC: 0). */
void vm_state_header(struct vm *vm, struct snapfile_header *hdr);

/* vm_state_header_cpu - @hdr's TSC rate and guest CPUID, from vCPU 0's state @cs. */
struct hv_vcpu_state;
void vm_state_header_cpu(struct snapfile_header *hdr, const struct hv_vcpu_state *cs);

/* vm_state_config - @c as the "vm_config" section of @w. */
void vm_state_config(const struct vm_config *c, struct state_writer *w);

/*
 * vm_state_take - with the VM paused, on the event-loop thread: drain device
 * I/O, then every section a snapshot holds (configuration, vCPUs, in-kernel
 * state, devices) into @w; @hdr gets the CPUID and TSC frequency. 0 or -errno
 * with one line in @err.
 */
int vm_state_take(struct vm *vm, struct state_writer *w, struct snapfile_header *hdr, char *err,
		  size_t err_len);

/*
 * vm_state_collect_dirty - the pages written since the last call (KVM's log
 * OR'd with vmon's device writes), one malloc'd bitmap per RAM region into
 * @bitmaps[GMEM_MAX_REGIONS] (the caller frees them, also on failure). Needs
 * tracking on. 0 or -errno with @err.
 */
int vm_state_collect_dirty(struct vm *vm, uint64_t **bitmaps, char *err, size_t err_len);

/*
 * vm_incoming_config - a migration's HELLO: check the state file @buf[0..@len)
 * that carries only the machine configuration, and the host CPU against it;
 * *@hdr and *@cfg (initialised by the caller) get what it says, with @o's
 * network overrides applied. 0 or -errno with one line in @err.
 */
int vm_incoming_config(const void *buf, size_t len, const struct vm_restore_opts *o,
		       struct snapfile_header *hdr, struct vm_config *cfg, char *err,
		       size_t err_len);

/*
 * vm_incoming_load - a migration's STATE into @vm, built from the HELLO's
 * configuration with anonymous RAM the PAGES filled: validate the whole file
 * (same RAM layout, same configuration), load every device, vCPU and the
 * in-kernel state on the event loop, and start the vCPUs parked. 0 or -errno
 * with one line in @err; on failure end, join and destroy @vm.
 */
int vm_incoming_load(struct vm *vm, const void *buf, size_t len, const struct vm_restore_opts *o,
		     char *err, size_t err_len);

/*
 * vm_check_cpuid - does this host's KVM offer every CPUID feature the guest
 * of @h was given (h->cpuid against a fresh vCPU of @vm here:
 * cpuid_check_features)? 0 (also when @h records none), or -errno with @err.
 */
int vm_check_cpuid(struct vm *vm, const struct snapfile_header *h, char *err, size_t err_len);

/* vm_dirty_track - start (or stop) dirty-page tracking for Diff snapshots. 0 or -errno. */
int vm_dirty_track(struct vm *vm, bool on);

#endif
