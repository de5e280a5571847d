/*
 * vcpu_x86.h — x86 per-vCPU set-up: the CPUID table from the arch policy, the
 * boot MSRs, FPU and LAPIC power-on state.
 */
#ifndef VMON_VM_VCPU_X86_H
#define VMON_VM_VCPU_X86_H

#include <stddef.h>

#include "arch/x86/cpu_template.h"
#include "hv/hv.h"

/*
 * x86_vcpu_setup - give vCPU @index of @nr_cpus its CPUID, MSRs and platform
 * state. Returns 0 or -errno with one line in @err.
 */
int x86_vcpu_setup(struct hv *hv, struct hv_vcpu *vcpu, unsigned index, unsigned nr_cpus,
		   enum cpu_template tmpl, char *err, size_t err_len);

#endif
