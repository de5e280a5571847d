/*
 * cpu_template.h — Firecracker's static CPU templates (C3, T2, T2S, T2CL, T2A):
 * CPUID and MSR masks that make a guest see the feature set of an EC2
 * instance type, so that one guest image (and one snapshot) can run on hosts
 * of different CPU generations. The same masks as Firecracker's, applied
 * after vmon's own CPUID policy (as Firecracker applies them after its
 * normalization). A template is for one vendor: C3, T2, T2S and T2CL for
 * Intel, T2A for AMD. Not a security boundary: a guest may still execute an
 * instruction whose feature bit it was told is off. Pure: no ioctls.
 */
#ifndef VMON_ARCH_X86_CPU_TEMPLATE_H
#define VMON_ARCH_X86_CPU_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_state.h"

enum cpu_template {
	CPU_TEMPLATE_NONE,
	CPU_TEMPLATE_C3,
	CPU_TEMPLATE_T2,
	CPU_TEMPLATE_T2S,
	CPU_TEMPLATE_T2CL,
	CPU_TEMPLATE_T2A,
	CPU_TEMPLATE_NR
};

#define MSR_IA32_ARCH_CAPABILITIES 0x0000010Au

/* cpu_template_name - "None", "C3", "T2", ... (Firecracker's spelling); NULL out of range. */
const char *cpu_template_name(enum cpu_template t);

/* cpu_template_parse - the template named @s (exact, case-sensitive); -1 when none is. */
int cpu_template_parse(const char *s);

/*
 * cpu_template_check_vendor - 0 when template @t may be used on the host
 * whose CPUID leaf 0 is in @host/@nr (any host for NONE), else -EINVAL with
 * one line in @err naming both vendors.
 */
int cpu_template_check_vendor(enum cpu_template t, const struct cpuid_entry *host, unsigned nr,
			      char *err, size_t err_len);

/*
 * cpu_template_apply - apply @t's CPUID masks to the table @tab of @nr
 * entries in place: in each register a template names, the bits of its
 * filter take the template's values, the others stay. Leaves absent from
 * @tab are left absent.
 */
void cpu_template_apply(enum cpu_template t, struct cpuid_entry *tab, unsigned nr);

/*
 * cpu_template_arch_caps - the IA32_ARCH_CAPABILITIES value @t gives the
 * guest, from @host_value (what KVM offers the vCPU). false when @t leaves
 * that MSR alone.
 */
bool cpu_template_arch_caps(enum cpu_template t, uint64_t host_value, uint64_t *out);

#endif
