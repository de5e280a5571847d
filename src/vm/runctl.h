/*
 * runctl.h — the one run control of a VM's vCPU threads: pause (every vCPU
 * parked at an exit boundary), resume, end, and the check each vCPU thread
 * makes between two KVM_RUNs. vm.c (the API's pause/resume), the vCPU dump,
 * snapshots and migration all stop and start the vCPUs through it.
 *
 * Pauses are counted holds: the user's pause (API), a vCPU dump and a snapshot
 * may overlap, and the vCPUs run again only when the last hold is released.
 * The user-visible state (running or paused) is separate from the holds: a
 * dump during a user pause leaves the VM paused.
 *
 * Kicks: a hold or the end sets @attention and asks the owner's @kick callback
 * to make every vCPU leave KVM_RUN (vcpu.c: immediate_exit + a signal). A vCPU
 * thread checks @attention without the lock on the hot path.
 */
#ifndef VMON_VM_RUNCTL_H
#define VMON_VM_RUNCTL_H

#include <pthread.h>
#include <stdbool.h>

enum runctl_state { RUNCTL_CREATED, RUNCTL_RUNNING, RUNCTL_PAUSED, RUNCTL_ENDED };

struct runctl {
	int attention; /* atomic: set while a hold or the end is pending */
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	enum runctl_state state;
	unsigned holds; /* pause holds taken: the vCPUs stay parked while > 0 */
	unsigned parked; /* vCPU threads parked */
	unsigned running; /* vCPU threads alive */
	bool ended;
	bool restart; /* the guest reset itself and the VM is to boot again */
	int exit_status;
	const char *end_reason;
	/* set by the owner before any thread starts; called without the lock */
	void (*kick)(void *opaque); /* make every vCPU leave KVM_RUN soon */
	void (*on_end)(void *opaque); /* after the end is recorded (stop the event loop) */
	void *opaque;
};

/* runctl_init / runctl_destroy - state CREATED, no holds; the callbacks are the owner's. */
void runctl_init(struct runctl *rc, void (*kick)(void *), void (*on_end)(void *), void *opaque);
void runctl_destroy(struct runctl *rc);

/* runctl_set_running - CREATED -> RUNNING, before the vCPU threads start. */
void runctl_set_running(struct runctl *rc);

/* runctl_thread_enter / runctl_thread_exit - account a vCPU thread (exit: wakes waiters). */
void runctl_thread_enter(struct runctl *rc);
void runctl_thread_exit(struct runctl *rc);

/*
 * runctl_hold - take a pause hold and wait until every live vCPU thread is
 * parked, at most @timeout_ms (< 0: no limit). Returns 0 when all are parked,
 * -ETIMEDOUT when some are not (the hold is still taken), -EINVAL when the VM
 * has ended or never ran (no hold taken). Any thread but a vCPU's; every 0 or
 * -ETIMEDOUT is paired with one runctl_release().
 */
int runctl_hold(struct runctl *rc, int timeout_ms);
void runctl_release(struct runctl *rc);

/*
 * runctl_pause / runctl_resume - the user's pause (Firecracker's Paused state):
 * a hold taken once and released by resume. Idempotent. 0, or -EINVAL when
 * the VM is not running or paused (not started, ended).
 */
int runctl_pause(struct runctl *rc);
int runctl_resume(struct runctl *rc);

/*
 * runctl_end - end the VM with @status (the first caller wins), and with
 * @restart the guest asked to be booted again; wakes parked vCPUs so that
 * they leave, kicks the running ones, calls on_end. Any thread.
 */
void runctl_end(struct runctl *rc, int status, const char *reason, bool restart);

/*
 * runctl_check - a vCPU thread's check between runs: parks while a hold is
 * taken (*@parked is true meanwhile, read it with runctl_is_parked), returns
 * false once the VM has ended. Lock-free when nothing is asked.
 */
bool runctl_check(struct runctl *rc, bool *parked);

/* runctl_attention - a hold or the end is pending (lock-free; a vCPU's hint to stop soon). */
static inline bool runctl_attention(struct runctl *rc)
{
	return __atomic_load_n(&rc->attention, __ATOMIC_ACQUIRE);
}

/* runctl_is_parked - whether the vCPU behind @parked is parked now (any thread). */
bool runctl_is_parked(struct runctl *rc, const bool *parked);

/* runctl_state / runctl_parked - a snapshot of the state / parked count. */
enum runctl_state runctl_state(struct runctl *rc);
unsigned runctl_parked(struct runctl *rc);

#endif
