/*
 * vm_migrate.h — live migration of a running VM to another vmon: pre-copy of
 * guest RAM with dirty-page tracking while the guest runs, then a short
 * stop-and-copy of the last dirty pages and the whole device and vCPU state
 * (the snapshot's sections), then a hand-over of the disk images. The stream
 * is snapshot/migwire.h's; docs/migration.md tells the exchange.
 *
 * The source keeps its guest until the destination says it runs it: any
 * failure before the hand-over leaves the source's VM running as it was.
 */
#ifndef VMON_VM_VM_MIGRATE_H
#define VMON_VM_VM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/vm_snapshot.h"

struct vm;
struct evloop;

/* Where a migration's stream goes: "tcp:HOST:PORT" (numeric address) or "unix:PATH". */
#define VM_MIGRATE_MAX_ADDR 256

/* struct vm_migrate_params - what PUT /migration/send says. */
struct vm_migrate_params {
	char destination[VM_MIGRATE_MAX_ADDR];
	uint32_t max_downtime_ms; /* stop-and-copy once the rest would take this long; 0: 300 */
	uint32_t max_bandwidth_mib_s; /* pre-copy's pace; 0: as fast as the stream goes */
	uint32_t timeout_s; /* pre-copy's limit; 0: 600 */
	bool force_on_timeout; /* at the limit: stop and copy anyway (else cancel, the VM runs on)
				*/
};

/*
 * vm_migrate_addr_check - is @addr a destination vm_migrate_listen() and the
 * sender take? 0, or -EINVAL with one line in @err.
 */
int vm_migrate_addr_check(const char *addr, char *err, size_t err_len);

/* ---- the source ---- */

struct vm_migration;

/*
 * vm_migration_start - migrate the running @vm as @p says, on a thread of its
 * own; the call returns once the destination is connected and accepted the
 * machine (or with why not). When the destination runs the guest, the source
 * VM ends with status 0 ("migrated"). *@out is the handle for the status,
 * cancel and free. 0, or -errno with one line in @err (nothing changed).
 */
int vm_migration_start(struct vm_migration **out, struct vm *vm, const struct vm_migrate_params *p,
		       char *err, size_t err_len);

/* vm_migration_active - is it still moving (user pause, resume and snapshots wait)? */
bool vm_migration_active(struct vm_migration *m);

/* vm_migration_json - GET /migration's body: state, rounds, bytes, downtime... malloc'd or NULL. */
char *vm_migration_json(struct vm_migration *m);

/*
 * vm_migration_outcome_awaited - has it completed without GET /migration having
 * said so yet? A source that ends after a completed migration keeps answering for
 * up to 2 s then, so that a watcher (`vmon migrate`) hears "completed".
 */
bool vm_migration_outcome_awaited(struct vm_migration *m);

/* vm_migration_cancel - stop it; before the hand-over, the source VM runs on. Any thread. */
void vm_migration_cancel(struct vm_migration *m);

/* vm_migration_free - cancel, wait for its thread, free (NULL: nothing). */
void vm_migration_free(struct vm_migration *m);

/* ---- the destination ---- */

/* struct vm_incoming - a destination waiting for (or receiving) one migration. */
struct vm_incoming;

/*
 * vm_incoming_listen - bind and listen on @addr (a Unix socket path is
 * created, and removed by vm_incoming_free). 0, or -errno with one line in @err.
 */
int vm_incoming_listen(struct vm_incoming **out, const char *addr, char *err, size_t err_len);

/*
 * vm_incoming_receive - accept one source and build its VM on @el (which
 * must be running on another thread): the machine, its RAM, its state. With
 * the VM loaded, paused and its disks locked, @on_ready(@opaque, vm, cfg, paused) takes it
 * (and may take its configuration *cfg, leaving it vm_config_init()ed)
 * (starts the console, makes it the process's VM: it owns it from then on,
 * also when this call fails after it); then the guest runs (@paused: it stays
 * paused, as its user had paused it at the source) and the source is told. 0 once the guest runs
 * here; -ECANCELED after vm_incoming_cancel; or -errno with one line in @err (the source is told
 * why, and runs on).
 */
int vm_incoming_receive(struct vm_incoming *in, struct evloop *el, const struct vm_restore_opts *o,
			int (*on_ready)(void *opaque, struct vm *vm, struct vm_config *cfg,
					bool paused, char *err, size_t err_len),
			void *opaque, char *err, size_t err_len);

/* vm_incoming_json - GET /migration's body on a destination: state, pages, error. malloc'd or NULL.
 */
char *vm_incoming_json(struct vm_incoming *in);

/* vm_incoming_cancel - make vm_incoming_receive() return -ECANCELED. Any thread. */
void vm_incoming_cancel(struct vm_incoming *in);

/* vm_incoming_free - close the sockets (NULL: nothing). After vm_incoming_receive returned. */
void vm_incoming_free(struct vm_incoming *in);

#endif
