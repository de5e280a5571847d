/*
 * cpu_template.c — the static CPU templates' masks (see cpu_template.h).
 *
 * Each mask is one register of one leaf: the bits of @filter take the bits of
 * @value. Bit names: Intel SDM vol. 2A (CPUID), AMD APM vol. 3 (appendix E).
 * The values are Firecracker's (src/vmm/src/cpu_config/x86_64/
 * static_cpu_templates/), so a guest sees the same CPU under either monitor.
 */
#include "arch/x86/cpu_template.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum reg { EAX, EBX, ECX, EDX };

struct cpuid_mask {
	uint32_t leaf, subleaf;
	enum reg reg;
	uint32_t filter, value;
};

/*
 * Shared by T2, T2S, T2CL and T2A: the CPU of an EC2 T2 instance (Haswell-EP).
 *  1.EAX      family 6, model 0x3f, stepping 2 (the processor type bits stay)
 *  1.ECX      off: DTES64, MONITOR, DS-CPL, VMX, SMX, EIST, TM2, CNXT-ID, SDBG, xTPR, PDCM, DCA
 *  1.EDX      on: MCE, MTRR; off: PSN, DS, ACPI, SS, TM, IA64, PBE
 *  7.0.EBX    on: ERMS; off: SGX, HLE, RTM, RDT-M, MPX, RDT-A, the AVX-512 set, RDSEED, ADX,
 *             PCOMMIT, CLFLUSHOPT, CLWB, PT, SHA (SMAP and the lower bits stay)
 *  7.0.ECX    off: AVX512_VBMI, UMIP, PKU, OSPKE, AVX512_VBMI2, GFNI, VAES, VPCLMULQDQ,
 *             AVX512_VNNI, AVX512_BITALG, AVX512_VPOPCNTDQ, LA57, RDPID, SGX_LC
 *  7.0.EDX    off: AVX512_4VNNIW, AVX512_4FMAPS, FSRM, AVX512_VP2INTERSECT
 *  D.0.EAX    off: the MPX, AVX-512 and PKRU state components
 *  D.1.EAX    off: XSAVEC, XGETBV with ECX=1, XSAVES
 */
#define T2_BASE                                                                                    \
	{ 0x1, 0, EAX, 0x0fff3fff, 0x000306f2 }, { 0x1, 0, ECX, 0x0004cdfc, 0 },                   \
		{ 0x1, 0, EDX, 0xe8641080, 0x00001080 }, { 0x7, 0, EBX, 0xffefda14, 0x00000200 },  \
		{ 0x7, 0, ECX, 0x40415f5e, 0 }, { 0x7, 0, EDX, 0x0000011c, 0 },                    \
		{ 0xd, 0, EAX, 0x000002f8, 0 },                                                    \
	{                                                                                          \
		0xd, 1, EAX, 0x0000000e, 0                                                         \
	}

/* T2 and T2S: off in 0x80000001 PREFETCHW, MONITORX (ECX) and 1-GiB pages (EDX); WBNOINVD. */
static const struct cpuid_mask t2[] = {
	T2_BASE,
	{ 0x80000001, 0, ECX, 0x20000100, 0 },
	{ 0x80000001, 0, EDX, 0x04000000, 0 },
	{ 0x80000008, 0, EBX, 0x00000200, 0 },
};

/* T2CL: also off SSE4A and MisAlignSse (ECX), MMXExt, MMX, FXSR, FFXSR (EDX): as on AMD T2A. */
static const struct cpuid_mask t2cl[] = {
	T2_BASE,
	{ 0x80000001, 0, ECX, 0x200001c0, 0 },
	{ 0x80000001, 0, EDX, 0x07c00000, 0 },
	{ 0x80000008, 0, EBX, 0x00000200, 0 },
};

/*
 * T2A (AMD Milan): off in 0x80000001 SVM, SSE4A, MisAlignSse, PREFETCHW, MONITORX (ECX) and
 * MMXExt, FFXSR, 1-GiB pages (EDX); 0x80000008.EBX: CLZERO and WBNOINVD off, RstrFpErrPtrs and
 * the three IBRS/EFER hint bits (18-20) on.
 */
static const struct cpuid_mask t2a[] = {
	T2_BASE,
	{ 0x80000001, 0, ECX, 0x200001c4, 0 },
	{ 0x80000001, 0, EDX, 0x06400000, 0 },
	{ 0x80000008, 0, EBX, 0x001c0205, 0x001c0004 },
};

/*
 * C3, the CPU of an EC2 C3 instance (Ivy Bridge-EP): family 6, model 0x3e, stepping 4; beyond
 * T2's masks FMA and MOVBE off in leaf 1 and BMI1, AVX2, BMI2, INVPCID off in leaf 7, ERMS left
 * as the host has it; SMX, EIST, DCA and IA64 left alone.
 */
static const struct cpuid_mask c3[] = {
	{ 0x1, 0, EAX, 0x0fff3fff, 0x000306e4 }, { 0x1, 0, ECX, 0x0040dd3c, 0 },
	{ 0x1, 0, EDX, 0xa8641080, 0x00001080 }, { 0x7, 0, EBX, 0xffafdd3c, 0 },
	{ 0x7, 0, ECX, 0x4041481e, 0 },		 { 0x7, 0, EDX, 0x0000000c, 0 },
	{ 0xd, 0, EAX, 0x000002f8, 0 },		 { 0xd, 1, EAX, 0x0000000e, 0 },
	{ 0x80000001, 0, ECX, 0x00000120, 0 },	 { 0x80000001, 0, EDX, 0x04000000, 0 },
};

struct template_def {
	const char *name;
	const char *vendor; /* the CPUID vendor string it is for; NULL: any */
	const struct cpuid_mask *masks;
	unsigned nr_masks;
};

#define DEF(n, v, m)                                                                               \
	{                                                                                          \
		n, v, m, sizeof(m) / sizeof(m[0])                                                  \
	}

static const struct template_def defs[CPU_TEMPLATE_NR] = {
	[CPU_TEMPLATE_NONE] = { "None", NULL, NULL, 0 },
	[CPU_TEMPLATE_C3] = DEF("C3", "GenuineIntel", c3),
	[CPU_TEMPLATE_T2] = DEF("T2", "GenuineIntel", t2),
	[CPU_TEMPLATE_T2S] = DEF("T2S", "GenuineIntel", t2),
	[CPU_TEMPLATE_T2CL] = DEF("T2CL", "GenuineIntel", t2cl),
	[CPU_TEMPLATE_T2A] = DEF("T2A", "AuthenticAMD", t2a),
};

const char *cpu_template_name(enum cpu_template t)
{
	return (unsigned)t < CPU_TEMPLATE_NR ? defs[t].name : NULL;
}

int cpu_template_parse(const char *s)
{
	for (unsigned i = 0; s && i < CPU_TEMPLATE_NR; i++)
		if (!strcmp(s, defs[i].name))
			return (int)i;
	return -1;
}

int cpu_template_check_vendor(enum cpu_template t, const struct cpuid_entry *host, unsigned nr,
			      char *err, size_t err_len)
{
	char v[13] = "unknown";

	if ((unsigned)t >= CPU_TEMPLATE_NR) {
		snprintf(err, err_len, "no such CPU template");
		return -EINVAL;
	}
	if (!defs[t].vendor)
		return 0;
	for (unsigned i = 0; i < nr; i++)
		if (host[i].function == 0) {
			/* vendor string order: EBX, EDX, ECX */
			memcpy(v, &host[i].ebx, 4);
			memcpy(v + 4, &host[i].edx, 4);
			memcpy(v + 8, &host[i].ecx, 4);
			v[12] = '\0';
			break;
		}
	if (!strcmp(v, defs[t].vendor))
		return 0;
	snprintf(err, err_len, "CPU template %s is for %s CPUs; this host's is %s", defs[t].name,
		 defs[t].vendor, v);
	return -EINVAL;
}

static uint32_t *reg_of(struct cpuid_entry *e, enum reg r)
{
	switch (r) {
	case EAX:
		return &e->eax;
	case EBX:
		return &e->ebx;
	case ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

void cpu_template_apply(enum cpu_template t, struct cpuid_entry *tab, unsigned nr)
{
	if ((unsigned)t >= CPU_TEMPLATE_NR)
		return;
	for (unsigned m = 0; m < defs[t].nr_masks; m++) {
		const struct cpuid_mask *k = &defs[t].masks[m];

		for (unsigned i = 0; i < nr; i++) {
			uint32_t *r;

			if (tab[i].function != k->leaf ||
			    ((tab[i].flags & CPUID_FLAG_SIGNIFICANT_INDEX) &&
			     tab[i].index != k->subleaf))
				continue;
			r = reg_of(&tab[i], k->reg);
			*r = (*r & ~k->filter) | (k->value & k->filter);
		}
	}
}

bool cpu_template_arch_caps(enum cpu_template t, uint64_t host_value, uint64_t *out)
{
	switch (t) {
	case CPU_TEMPLATE_T2S:
		/*
		 * The whole MSR: RSBA, SKIP_L1DFL_VMENTRY, IF_PSCHANGE_MC_NO, bits 10-11,
		 * FB_CLEAR, RRSBA, GDS_CTRL and GDS_NO on, the rest (RDCL_NO, IBRS_ALL, MDS_NO,
		 * TAA_NO, ...) off: what Skylake and Cascade Lake can both honour. FB_CLEAR
		 * says VERW clears the fill buffers, which it does on both with current microcode.
		 */
		*out = 0x0c0a0c4cull;
		return true;
	case CPU_TEMPLATE_T2CL:
		/* The host's, with bits 9-12, 16, 18, 20-23, 25 and 29-63 cleared. */
		*out = host_value & ~0xffffffffe2f51e00ull;
		return true;
	default:
		return false;
	}
}
