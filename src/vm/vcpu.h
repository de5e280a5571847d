/*
 * vcpu.h — a vCPU thread: the KVM_RUN loop, the exit dispatch table, the
 * per-exit-reason counters, and the report written when a guest dies.
 */
#ifndef VMON_VM_VCPU_H
#define VMON_VM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu_template.h"
#include "bus/bus.h"
#include "hv/hv.h"
#include "mem/gmem.h"
#include "vm/runctl.h"

/*
 * struct vcpu_env - what a vCPU thread may use: the run control it answers
 * to, the buses its port and MMIO exits go to, and guest RAM (for the report
 * of a guest that died). Owned by the VM; outlives the vCPU.
 */
struct vcpu_env {
	struct runctl *rc;
	struct bus *pio;
	struct bus *mmio;
	const struct gmem *gmem;
	bool firecracker_names; /* the thread is "fc_vcpu N", not "vcpuN" */
	enum cpu_template cpu_template; /* the CPUID and MSR masks of a new vCPU */
};

struct vcpu {
	struct vcpu_env env;
	unsigned index;
	struct hv_vcpu *hv;
	pthread_t thread;
	bool started;
	/* Exit counters, written by the vCPU thread, read atomically by others. */
	uint64_t exits[HV_EXIT__COUNT];
	uint64_t io_unhandled;
	uint64_t mmio_unhandled;
	int last_exit; /* enum hv_exit_reason of the latest exit (relaxed atomic), -1 before one */
	bool parked; /* waiting out a pause hold (runctl_is_parked) */
};

/*
 * vcpu_create - vCPU @index of @nr_cpus on @hv, answering to @env; with
 * @configure its CPUID, MSRs and platform state are set for a boot (a
 * restore sets them all from the snapshot instead: hv_vcpu_set_full). 0 or
 * -errno with one line in @err.
 */
int vcpu_create(struct hv *hv, const struct vcpu_env *env, unsigned index, unsigned nr_cpus,
		bool configure, struct vcpu **out, char *err, size_t err_len);
void vcpu_destroy(struct vcpu *v);

/* vcpu_start - start the thread running the KVM_RUN loop (counted in env.rc). 0 or -errno. */
int vcpu_start(struct vcpu *v);

/* vcpu_kick - make the vCPU leave KVM_RUN soon (after a state change it must see). */
void vcpu_kick(struct vcpu *v);

/* vcpu_signal_init - install the kick signal's handler; once per process, before vcpu_start. */
int vcpu_signal_init(void);

#endif
