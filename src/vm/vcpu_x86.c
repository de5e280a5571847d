/* vcpu_x86.c — CPUID, MSR, FPU and LAPIC set-up of one x86 vCPU. */
#include "vm/vcpu_x86.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpu_template.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/msr.h"

int x86_vcpu_setup(struct hv *hv, struct hv_vcpu *vcpu, unsigned index, unsigned nr_cpus,
		   enum cpu_template tmpl, char *err, size_t err_len)
{
	struct cpuid_policy_opts opts = { .tsc_deadline = hv_has_tsc_deadline(hv),
					  .template = tmpl };
	uint64_t caps;
	struct cpuid_entry *host = NULL, *mine = NULL;
	struct x86_msr msrs[MSR_BOOT_NR];
	unsigned nr_host;
	int ret, nr;

	ret = hv_supported_cpuid(hv, &host, &nr_host);
	if (ret) {
		snprintf(err, err_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
		return ret;
	}
	mine = calloc(cpuid_policy_size(nr_host), sizeof(*mine));
	if (!mine) {
		ret = -ENOMEM;
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	nr = cpuid_policy_build(host, nr_host, index, nr_cpus, &opts, mine,
				cpuid_policy_size(nr_host));
	if (nr < 0) {
		ret = nr;
		snprintf(err, err_len, "CPUID policy for vCPU %u: %s", index, strerror(-ret));
		goto out;
	}
	ret = hv_vcpu_set_cpuid(vcpu, mine, (unsigned)nr);
	if (ret) {
		snprintf(err, err_len, "KVM_SET_CPUID2 on vCPU %u: %s", index, strerror(-ret));
		goto out;
	}
	/* T2S and T2CL also shape IA32_ARCH_CAPABILITIES, from what KVM offers the vCPU */
	ret = hv_vcpu_get_msr(vcpu, MSR_IA32_ARCH_CAPABILITIES, &caps);
	if (cpu_template_arch_caps(tmpl, ret ? 0 : caps, &caps)) {
		struct x86_msr m = { MSR_IA32_ARCH_CAPABILITIES, caps };

		ret = hv_vcpu_set_msrs(vcpu, &m, 1);
		if (ret) {
			snprintf(err, err_len,
				 "CPU template %s: IA32_ARCH_CAPABILITIES on vCPU %u: %s",
				 cpu_template_name(tmpl), index, strerror(-ret));
			goto out;
		}
	}
	nr = msr_boot_list(msrs, MSR_BOOT_NR);
	ret = nr < 0 ? nr : hv_vcpu_set_msrs(vcpu, msrs, (unsigned)nr);
	if (ret) {
		snprintf(err, err_len, "KVM_SET_MSRS on vCPU %u: %s", index, strerror(-ret));
		goto out;
	}
	ret = hv_vcpu_init_platform(vcpu);
	if (ret)
		snprintf(err, err_len, "FPU/LAPIC set-up of vCPU %u: %s", index, strerror(-ret));
out:
	free(host);
	free(mine);
	return ret;
}
