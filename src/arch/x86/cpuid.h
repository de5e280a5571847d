/*
 * cpuid.h — vmon's CPUID policy: from the entries the host KVM supports
 * (KVM_GET_SUPPORTED_CPUID, converted to struct cpuid_entry by hv/), the
 * table one vCPU sees. Pure: no ioctls, no global state.
 *
 * Topology presented: one package, nr_vcpus cores, one thread per core,
 * APIC ID = x2APIC ID = vCPU index (the MADT says the same).
 */
#ifndef VMON_ARCH_X86_CPUID_H
#define VMON_ARCH_X86_CPUID_H

#include <stdbool.h>
#include <stddef.h>

#include "arch/x86/cpu_state.h"
#include "arch/x86/cpu_template.h"

/* KVM paravirtual leaves (Documentation/virt/kvm/x86/cpuid.rst) */
#define CPUID_KVM_SIGNATURE_LEAF 0x40000000u
#define CPUID_KVM_FEATURES_LEAF 0x40000001u
#define CPUID_MAX_VCPUS 254 /* xAPIC IDs, matching ACPI_MAX_CPUS */

/* Feature bits the policy touches (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, E.3) */
#define CPUID_1_ECX_MONITOR (1u << 3)
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_80000001_ECX_CMP_LEGACY (1u << 1)

/*
 * struct cpuid_policy_opts - choices that depend on KVM capabilities rather
 * than on the supported-CPUID list.
 * @tsc_deadline: KVM_CAP_TSC_DEADLINE_TIMER is present (KVM emulates the
 *   TSC-deadline LAPIC timer but does not list it as supported CPUID).
 * @template: a static CPU template whose masks go over the finished table
 *   (cpu_template.h); the caller has checked it suits the host's vendor.
 */
struct cpuid_policy_opts {
	bool tsc_deadline;
	enum cpu_template template;
};

/*
 * cpuid_policy_build - the CPUID table of vCPU @vcpu_index of @nr_vcpus.
 * @host/@nr_host: entries KVM supports (copied, then adjusted: leaf 1 APIC ID,
 *   logical count, CLFLUSH size 64, hypervisor and x2APIC bits, MONITOR off,
 *   TSC-deadline per @opts; leaf 4 core counts (Intel); leaves 5 and 6
 *   zeroed; leaf 0xA zeroed when the PMU version is 0; leaves 0xB and 0x1F
 *   regenerated (when the host max basic leaf reaches them); AMD
 *   0x80000001 CmpLegacy, 0x80000008 ECX and 0x8000001E; the KVM leaves
 *   0x40000000 ("KVMKVMKVM\0\0\0", max 0x40000001) and 0x40000001 (the host's
 *   features, or 0 when the host lists none)).
 * @out/@max_out: the result; cpuid_policy_size() entries always suffice.
 * Returns the number of entries written, -EINVAL for @vcpu_index >= @nr_vcpus
 * or @nr_vcpus outside 1..CPUID_MAX_VCPUS or no leaf 0 in @host, -E2BIG when
 * @max_out is too small.
 */
int cpuid_policy_build(const struct cpuid_entry *host, unsigned nr_host, unsigned vcpu_index,
		       unsigned nr_vcpus, const struct cpuid_policy_opts *opts,
		       struct cpuid_entry *out, unsigned max_out);

/* cpuid_policy_size - an upper bound of entries cpuid_policy_build() writes. */
unsigned cpuid_policy_size(unsigned nr_host);

/*
 * cpuid_find - the entry for @function/@index in @tab (index ignored for
 * entries without CPUID_FLAG_SIGNIFICANT_INDEX), or NULL.
 */
const struct cpuid_entry *cpuid_find(const struct cpuid_entry *tab, unsigned nr, uint32_t function,
				     uint32_t index);

/*
 * cpuid_check_features - does a host whose fresh vCPU gets @here[0..@nr_here)
 * offer every feature a guest was given in @guest[0..@nr_guest)? The feature
 * registers of leaves 1, 7.0, 0xD.1, 0x80000001 and 0x40000001 are compared
 * bit by bit, leaving out the bits a guest's own CR4 sets (OSXSAVE, OSPKE).
 * 0, or -EINVAL with one line in @err naming the leaf, register and bits.
 */
int cpuid_check_features(const struct cpuid_entry *guest, unsigned nr_guest,
			 const struct cpuid_entry *here, unsigned nr_here, char *err,
			 size_t err_len);

#endif
