/*
 * vcpu.h — a vCPU thread: the KVM_RUN loop, the exit dispatch table, the
 * per-exit-reason counters, and the report written when a guest dies.
 */
#ifndef VMON_VM_VCPU_H
#define VMON_VM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned index;
	struct hv_vcpu *hv;
	pthread_t thread;
	bool started;
	/* Exit counters, written by the vCPU thread, read atomically by others. */
	uint64_t exits[HV_EXIT__COUNT];
	uint64_t io_unhandled;
	uint64_t mmio_unhandled;
	int last_exit; /* enum hv_exit_reason of the latest exit (relaxed atomic), -1 before one */
	bool parked; /* waiting out a pause (under vm->lock) */
};

/* vcpu_create - vCPU @index with CPUID, MSRs and platform state set. 0 or -errno, @err. */
int vcpu_create(struct vm *vm, unsigned index, struct vcpu **out, char *err, size_t err_len);
void vcpu_destroy(struct vcpu *v);

/* vcpu_start - start the thread running the KVM_RUN loop. 0 or -errno. */
int vcpu_start(struct vcpu *v);

/* vcpu_kick - make the vCPU leave KVM_RUN soon (after a state change it must see). */
void vcpu_kick(struct vcpu *v);

/* vcpu_signal_init - install the kick signal's handler; once per process, before vcpu_start. */
int vcpu_signal_init(void);

#endif
