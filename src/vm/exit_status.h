/* exit_status.h — the statuses a vmon process ends with (docs/architecture.md#exit-statuses). */
#ifndef VMON_VM_EXIT_STATUS_H
#define VMON_VM_EXIT_STATUS_H

/* Exit statuses of the vmon process (debug-exit statuses (v << 1) | 1 are odd). */
enum {
	VMON_EXIT_OK = 0, /* guest powered off or rebooted */
	VMON_EXIT_USAGE = 2, /* bad argument or file; no VM was made */
	VMON_EXIT_HOST = 4, /* the host could not run the VM (KVM, memory, ...) */
	VMON_EXIT_GUEST_CRASH = 6, /* triple fault, emulation failure, failed entry */
};

#endif
