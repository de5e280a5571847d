/*
 * cpuid.c — CPUID policy (Intel SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E;
 * Linux Documentation/virt/kvm/x86/cpuid.rst for the KVM leaves).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/cpuid.h"

enum cpuid_vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };

/* Leaf 0xB / 0x1F level types (SDM: ECX[15:8]) */
#define TOPO_LEVEL_INVALID 0
#define TOPO_LEVEL_SMT 1
#define TOPO_LEVEL_CORE 2
#define TOPO_SUBLEAVES 3 /* SMT, core, terminating invalid level */

const struct cpuid_entry *cpuid_find(const struct cpuid_entry *tab, unsigned nr, uint32_t function,
				     uint32_t index)
{
	for (unsigned i = 0; i < nr; i++) {
		if (tab[i].function != function)
			continue;
		if ((tab[i].flags & CPUID_FLAG_SIGNIFICANT_INDEX) && tab[i].index != index)
			continue;
		return &tab[i];
	}
	return NULL;
}

unsigned cpuid_policy_size(unsigned nr_host)
{
	/* host entries, two generated topology leaves, two KVM leaves */
	return nr_host + 2 * TOPO_SUBLEAVES + 2;
}

static enum cpuid_vendor cpuid_vendor(const struct cpuid_entry *leaf0)
{
	/* Vendor string order: EBX, EDX, ECX */
	char v[12];

	memcpy(v, &leaf0->ebx, 4);
	memcpy(v + 4, &leaf0->edx, 4);
	memcpy(v + 8, &leaf0->ecx, 4);
	if (!memcmp(v, "GenuineIntel", 12))
		return VENDOR_INTEL;
	if (!memcmp(v, "AuthenticAMD", 12) || !memcmp(v, "HygonGenuine", 12))
		return VENDOR_AMD;
	return VENDOR_OTHER;
}

/* Bits of APIC ID needed for @n cores: ceil(log2(n)). */
static unsigned core_bits(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static bool drop_and_regenerate(uint32_t fn)
{
	return fn == 0xB || fn == 0x1F || (fn >= 0x40000000u && fn <= 0x400000FFu);
}

static void adjust(struct cpuid_entry *e, enum cpuid_vendor vendor, unsigned id, unsigned nr,
		   const struct cpuid_policy_opts *opts)
{
	unsigned bits = core_bits(nr);

	switch (e->function) {
	case 1:
		/* EBX: [31:24] initial APIC ID, [23:16] logical processors, [15:8] CLFLUSH/8 */
		e->ebx = ((uint32_t)id << 24) | ((uint32_t)(nr & 0xFF) << 16) | (8u << 8);
		e->ecx |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC;
		e->ecx &= ~CPUID_1_ECX_MONITOR; /* no MONITOR/MWAIT emulation */
		if (opts && opts->tsc_deadline)
			e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
		else
			e->ecx &= ~CPUID_1_ECX_TSC_DEADLINE;
		if (nr > 1)
			e->edx |= CPUID_1_EDX_HTT;
		else
			e->edx &= ~CPUID_1_EDX_HTT;
		break;
	case 4:
		/* Deterministic cache parameters (Intel): EAX[31:26] cores - 1,
		 * EAX[25:14] logical processors sharing the cache - 1 (L3: all). */
		if (vendor != VENDOR_INTEL || !(e->eax & 0x1F))
			break;
		e->eax &= 0x3FFF;
		e->eax |= (uint32_t)((nr - 1) & 0x3F) << 26;
		if (((e->eax >> 5) & 7) >= 3)
			e->eax |= (uint32_t)((nr - 1) & 0xFFF) << 14;
		break;
	case 5: /* MONITOR/MWAIT */
	case 6: /* thermal and power management */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xA: /* architectural PMU: nothing to expose when version is 0 */
		if (!(e->eax & 0xFF))
			e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0x80000001:
		if (vendor != VENDOR_AMD)
			break;
		if (nr > 1)
			e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
		else
			e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
		break;
	case 0x80000008:
		/* AMD: ECX[7:0] NC = cores - 1, ECX[15:12] ApicIdCoreIdSize */
		if (vendor != VENDOR_AMD)
			break;
		e->ecx &= ~0xF0FFu;
		e->ecx |= ((nr - 1) & 0xFF) | (bits << 12);
		break;
	case 0x8000001E:
		/* AMD: EAX extended APIC ID, EBX[7:0] core (compute unit) ID with
		 * EBX[15:8] threads per core - 1 = 0, ECX node 0 of 1 node. */
		if (vendor != VENDOR_AMD)
			break;
		e->eax = id;
		e->ebx = id & 0xFF;
		e->ecx = 0;
		e->edx = 0;
		break;
	default:
		break;
	}
}

/* Leaf 0xB / 0x1F: SMT level (1 thread), core level (nr cores), then invalid. */
static void topology(struct cpuid_entry *out, uint32_t fn, unsigned id, unsigned nr)
{
	for (uint32_t sub = 0; sub < TOPO_SUBLEAVES; sub++) {
		struct cpuid_entry *e = &out[sub];

		memset(e, 0, sizeof(*e));
		e->function = fn;
		e->index = sub;
		e->flags = CPUID_FLAG_SIGNIFICANT_INDEX;
		e->edx = id; /* x2APIC ID of this logical processor */
		if (sub == 0) {
			e->eax = 0; /* shift to the next level: one thread per core */
			e->ebx = 1;
			e->ecx = (TOPO_LEVEL_SMT << 8) | sub;
		} else if (sub == 1) {
			e->eax = core_bits(nr);
			e->ebx = nr;
			e->ecx = (TOPO_LEVEL_CORE << 8) | sub;
		} else {
			e->ecx = (TOPO_LEVEL_INVALID << 8) | sub;
		}
	}
}

int cpuid_policy_build(const struct cpuid_entry *host, unsigned nr_host, unsigned vcpu_index,
		       unsigned nr_vcpus, const struct cpuid_policy_opts *opts,
		       struct cpuid_entry *out, unsigned max_out)
{
	const struct cpuid_entry *leaf0, *kvm_features;
	enum cpuid_vendor vendor;
	unsigned n = 0;
	uint32_t max_basic;

	if (nr_vcpus < 1 || nr_vcpus > CPUID_MAX_VCPUS || vcpu_index >= nr_vcpus)
		return -EINVAL;
	leaf0 = cpuid_find(host, nr_host, 0, 0);
	if (!leaf0)
		return -EINVAL;
	if (max_out < cpuid_policy_size(nr_host))
		return -E2BIG;
	vendor = cpuid_vendor(leaf0);
	max_basic = leaf0->eax;

	for (unsigned i = 0; i < nr_host; i++) {
		if (drop_and_regenerate(host[i].function))
			continue;
		out[n] = host[i];
		adjust(&out[n], vendor, vcpu_index, nr_vcpus, opts);
		n++;
	}
	if (max_basic >= 0xB) {
		topology(&out[n], 0xB, vcpu_index, nr_vcpus);
		n += TOPO_SUBLEAVES;
	}
	if (max_basic >= 0x1F) {
		topology(&out[n], 0x1F, vcpu_index, nr_vcpus);
		n += TOPO_SUBLEAVES;
	}

	/* KVM signature leaf: "KVMKVMKVM\0\0\0" in EBX, ECX, EDX. */
	memset(&out[n], 0, sizeof(out[n]));
	out[n].function = CPUID_KVM_SIGNATURE_LEAF;
	out[n].eax = CPUID_KVM_FEATURES_LEAF;
	memcpy(&out[n].ebx, "KVMK", 4);
	memcpy(&out[n].ecx, "VMKV", 4);
	memcpy(&out[n].edx, "M\0\0\0", 4);
	n++;
	kvm_features = cpuid_find(host, nr_host, CPUID_KVM_FEATURES_LEAF, 0);
	memset(&out[n], 0, sizeof(out[n]));
	if (kvm_features)
		out[n] = *kvm_features;
	out[n].function = CPUID_KVM_FEATURES_LEAF;
	out[n].index = 0;
	out[n].flags = 0;
	n++;
	cpu_template_apply(opts->template, out, n);
	return (int)n;
}

int cpuid_check_features(const struct cpuid_entry *guest, unsigned nr_guest,
			 const struct cpuid_entry *here, unsigned nr_here, char *err,
			 size_t err_len)
{
	enum { EAX, EBX, ECX, EDX };
	static const struct {
		uint32_t function, index;
		int reg;
		uint32_t dynamic; /* set at run time by the guest's CR4, not offered */
		const char *name;
	} regs[] = {
		{ 1, 0, ECX, 1u << 27 /* OSXSAVE */, "1.ECX" },
		{ 1, 0, EDX, 0, "1.EDX" },
		{ 7, 0, EBX, 0, "7.0.EBX" },
		{ 7, 0, ECX, 1u << 4 /* OSPKE */, "7.0.ECX" },
		{ 7, 0, EDX, 0, "7.0.EDX" },
		{ 0xd, 1, EAX, 0, "0xD.1.EAX" },
		{ 0x80000001u, 0, ECX, 0, "0x80000001.ECX" },
		{ 0x80000001u, 0, EDX, 0, "0x80000001.EDX" },
		{ CPUID_KVM_FEATURES_LEAF, 0, EAX, 0, "0x40000001.EAX" },
	};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		const struct cpuid_entry *g =
			cpuid_find(guest, nr_guest, regs[i].function, regs[i].index);
		const struct cpuid_entry *h =
			cpuid_find(here, nr_here, regs[i].function, regs[i].index);
		uint32_t gv, hv, missing;

		if (!g)
			continue;
		gv = regs[i].reg == EAX	  ? g->eax
		     : regs[i].reg == EBX ? g->ebx
		     : regs[i].reg == ECX ? g->ecx
					  : g->edx;
		hv = !h			  ? 0
		     : regs[i].reg == EAX ? h->eax
		     : regs[i].reg == EBX ? h->ebx
		     : regs[i].reg == ECX ? h->ecx
					  : h->edx;
		missing = gv & ~regs[i].dynamic & ~hv;
		if (missing) {
			snprintf(err, err_len,
				 "the guest was given CPUID %s bits 0x%08x that this host's KVM "
				 "does "
				 "not offer",
				 regs[i].name, missing);
			return -EINVAL;
		}
	}
	return 0;
}
