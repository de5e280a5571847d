/* vcpu_x86.c — CPUID, MSR, FPU and LAPIC set-up of one x86 vCPU. */
#include "vm/vcpu_x86.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include("arch/x86/cpuid.h")
#include "arch/x86/cpuid.h"
#include "arch/x86/msr.h"
#else
/* Until the arch policy lands: KVM's table with this vCPU's APIC ID. */
static int x86_cpuid_policy(const struct cpuid_entry *host, unsigned nr_host, unsigned index,
			    unsigned nr_cpus, struct cpuid_entry **out, unsigned *nr_out)
{
	struct cpuid_entry *e = calloc(nr_host ? nr_host : 1, sizeof(*e));

	(void)nr_cpus;
	if (!e)
		return -ENOMEM;
	memcpy(e, host, nr_host * sizeof(*e));
	for (unsigned i = 0; i < nr_host; i++) {
		if (e[i].function == 1)
			e[i].ebx = (e[i].ebx & 0x00ffffffu) | (index << 24);
	}
	*out = e;
	*nr_out = nr_host;
	return 0;
}

static unsigned x86_boot_msrs(struct x86_msr *out, unsigned max)
{
	(void)out, (void)max;
	return 0;
}
#endif

int x86_vcpu_setup(struct hv *hv, struct hv_vcpu *vcpu, unsigned index, unsigned nr_cpus, char *err,
		   size_t err_len)
{
	struct cpuid_entry *host = NULL, *mine = NULL;
	struct x86_msr msrs[32];
	unsigned nr_host, nr_mine, nr_msrs;
	int ret;

	ret = hv_supported_cpuid(hv, &host, &nr_host);
	if (ret) {
		snprintf(err, err_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
		return ret;
	}
	ret = x86_cpuid_policy(host, nr_host, index, nr_cpus, &mine, &nr_mine);
	if (ret) {
		snprintf(err, err_len, "CPUID policy for vCPU %u: %s", index, strerror(-ret));
		goto out;
	}
	ret = hv_vcpu_set_cpuid(vcpu, mine, nr_mine);
	if (ret) {
		snprintf(err, err_len, "KVM_SET_CPUID2 on vCPU %u: %s", index, strerror(-ret));
		goto out;
	}
	nr_msrs = x86_boot_msrs(msrs, sizeof(msrs) / sizeof(msrs[0]));
	ret = hv_vcpu_set_msrs(vcpu, msrs, nr_msrs);
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
