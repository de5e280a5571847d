/* test_cpu_template.c — Firecracker's static CPU templates: names, vendors, the CPUID masks and
 * IA32_ARCH_CAPABILITIES. */
#include <errno.h>

#include "arch/x86/cpu_template.h"
#include "arch/x86/cpuid.h"
#include "harness.h"
#include "util/compiler.h"

static void set_vendor(struct cpuid_entry *e, const char *v)
{
	memcpy(&e->ebx, v, 4);
	memcpy(&e->edx, v + 4, 4);
	memcpy(&e->ecx, v + 8, 4);
}

/* The leaves the templates touch, every register all ones (@ones) or all zeroes. */
static unsigned table(struct cpuid_entry *t, const char *vendor, bool ones)
{
	const uint32_t r = ones ? 0xffffffffu : 0;
	unsigned n = 0;

	t[n] = (struct cpuid_entry){ .function = 0, .eax = 0xd };
	set_vendor(&t[n++], vendor);
	t[n++] = (struct cpuid_entry){ 1, 0, 0, r, r, r, r };
	t[n++] = (struct cpuid_entry){ 7, 0, CPUID_FLAG_SIGNIFICANT_INDEX, r, r, r, r };
	t[n++] = (struct cpuid_entry){ 7, 1, CPUID_FLAG_SIGNIFICANT_INDEX, r, r, r, r };
	t[n++] = (struct cpuid_entry){ 0xd, 0, CPUID_FLAG_SIGNIFICANT_INDEX, r, r, r, r };
	t[n++] = (struct cpuid_entry){ 0xd, 1, CPUID_FLAG_SIGNIFICANT_INDEX, r, r, r, r };
	t[n++] = (struct cpuid_entry){ 0x80000001, 0, 0, r, r, r, r };
	t[n++] = (struct cpuid_entry){ 0x80000008, 0, 0, r, r, r, r };
	return n;
}

static const struct cpuid_entry *leaf(const struct cpuid_entry *t, unsigned n, uint32_t fn,
				      uint32_t idx)
{
	const struct cpuid_entry *e = cpuid_find(t, n, fn, idx);

	REQUIRE(e);
	return e;
}

#define BIT(n) (1u << (n))

TEST(cpu_template_names_round_trip)
{
	for (int t = 0; t < CPU_TEMPLATE_NR; t++)
		CHECK_EQ(cpu_template_parse(cpu_template_name((enum cpu_template)t)), t);
	CHECK_EQ(cpu_template_parse("T2"), CPU_TEMPLATE_T2);
	CHECK_EQ(cpu_template_parse("t2"), -1); /* Firecracker's spelling only */
	CHECK_EQ(cpu_template_parse("T3"), -1);
	CHECK_EQ(cpu_template_parse(""), -1);
	CHECK(cpu_template_name(CPU_TEMPLATE_NR) == NULL);
}

TEST(cpu_template_is_refused_on_the_other_vendor)
{
	struct cpuid_entry intel[16], amd[16];
	unsigned ni = table(intel, "GenuineIntel", false), na = table(amd, "AuthenticAMD", false);
	char err[160] = "";

	CHECK_EQ(cpu_template_check_vendor(CPU_TEMPLATE_NONE, amd, na, err, sizeof(err)), 0);
	CHECK_EQ(cpu_template_check_vendor(CPU_TEMPLATE_T2A, amd, na, err, sizeof(err)), 0);
	CHECK_EQ(cpu_template_check_vendor(CPU_TEMPLATE_T2, intel, ni, err, sizeof(err)), 0);
	CHECK_EQ(cpu_template_check_vendor(CPU_TEMPLATE_C3, intel, ni, err, sizeof(err)), 0);
	CHECK_EQ(cpu_template_check_vendor(CPU_TEMPLATE_T2, amd, na, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err,
		      "CPU template T2 is for GenuineIntel CPUs; this host's is AuthenticAMD"));
	CHECK_EQ(cpu_template_check_vendor(CPU_TEMPLATE_T2A, intel, ni, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "T2A is for AuthenticAMD") != NULL);
	CHECK_EQ(cpu_template_check_vendor(CPU_TEMPLATE_T2S, amd, 0, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "this host's is unknown") != NULL);
}

/* T2 hides what an EC2 T2 (Haswell) lacks, forces what it has, and leaves the rest. */
TEST(cpu_template_t2_masks_the_leaves_it_names)
{
	struct cpuid_entry one[16], zero[16];
	unsigned n = table(one, "GenuineIntel", true);

	table(zero, "GenuineIntel", false);
	cpu_template_apply(CPU_TEMPLATE_T2, one, n);
	cpu_template_apply(CPU_TEMPLATE_T2, zero, n);
	/* family 6, model 0x3f, stepping 2; processor type and reserved bits untouched */
	CHECK_EQ(leaf(zero, n, 1, 0)->eax, 0x000306f2);
	CHECK_EQ(leaf(one, n, 1, 0)->eax, 0xf000c000u | 0x000306f2);
	CHECK(!(leaf(one, n, 1, 0)->ecx & (BIT(3) | BIT(5) | BIT(18)))); /* MONITOR, VMX, DCA */
	CHECK(leaf(one, n, 1, 0)->ecx & BIT(28)); /* AVX stays */
	CHECK_EQ(leaf(zero, n, 1, 0)->edx, BIT(7) | BIT(12)); /* MCE, MTRR on */
	CHECK(!(leaf(one, n, 1, 0)->edx & (BIT(18) | BIT(31)))); /* PSN, PBE off */
	/* leaf 7: AVX-512F and SHA off, ERMS on, SMAP left; subleaf 1 untouched */
	CHECK(!(leaf(one, n, 7, 0)->ebx & (BIT(16) | BIT(29))));
	CHECK(leaf(one, n, 7, 0)->ebx & BIT(20));
	CHECK_EQ(leaf(zero, n, 7, 0)->ebx, BIT(9));
	CHECK(!(leaf(one, n, 7, 0)->ecx & (BIT(3) | BIT(16)))); /* PKU, LA57 */
	CHECK(!(leaf(one, n, 7, 0)->edx & BIT(4))); /* FSRM */
	CHECK_EQ(leaf(one, n, 7, 1)->eax, 0xffffffffu);
	/* XSAVE: no MPX, AVX-512 or PKRU state; no XSAVEC/XSAVES */
	CHECK_EQ(leaf(one, n, 0xd, 0)->eax & 0x2f8u, 0);
	CHECK_EQ(leaf(one, n, 0xd, 1)->eax & 0xeu, 0);
	CHECK_EQ(leaf(one, n, 0xd, 1)->eax & 1u, 1); /* XSAVEOPT stays */
	CHECK(!(leaf(one, n, 0x80000001, 0)->edx & BIT(26))); /* 1-GiB pages */
	CHECK(!(leaf(one, n, 0x80000008, 0)->ebx & BIT(9))); /* WBNOINVD */
	CHECK_EQ(leaf(one, n, 0, 0)->eax, 0xd); /* leaves it does not name: as they were */
}

TEST(cpu_template_t2a_and_c3_differ_from_t2_where_firecracker_s_do)
{
	struct cpuid_entry a[16], c[16], z[16];
	unsigned n = table(a, "AuthenticAMD", true);

	table(c, "GenuineIntel", true);
	table(z, "AuthenticAMD", false);
	cpu_template_apply(CPU_TEMPLATE_T2A, a, n);
	cpu_template_apply(CPU_TEMPLATE_T2A, z, n);
	cpu_template_apply(CPU_TEMPLATE_C3, c, n);
	CHECK(!(leaf(a, n, 0x80000001, 0)->ecx & BIT(2))); /* SVM */
	CHECK(!(leaf(a, n, 0x80000001, 0)->edx & BIT(22))); /* MMXExt */
	CHECK_EQ(leaf(z, n, 0x80000008, 0)->ebx, BIT(2) | BIT(18) | BIT(19) | BIT(20));
	CHECK(!(leaf(a, n, 0x80000008, 0)->ebx & (BIT(0) | BIT(9)))); /* CLZERO, WBNOINVD */
	CHECK_EQ(leaf(c, n, 1, 0)->eax & 0x0fff3fffu, 0x000306e4); /* Ivy Bridge-EP */
	CHECK(!(leaf(c, n, 7, 0)->ebx & (BIT(3) | BIT(5) | BIT(8)))); /* BMI1, AVX2, BMI2 */
	CHECK(leaf(c, n, 7, 0)->ebx & BIT(9)); /* ERMS: the host's */
	CHECK(leaf(c, n, 1, 0)->edx & BIT(30)); /* IA64 left alone */
	CHECK_EQ(leaf(c, n, 0x80000008, 0)->ebx, 0xffffffffu); /* no 0x80000008 mask */
}

TEST(cpu_template_arch_capabilities)
{
	uint64_t v = 0;

	CHECK(cpu_template_arch_caps(CPU_TEMPLATE_T2S, 0xffffffffffffffffull, &v));
	CHECK_EQ(v, 0x0c0a0c4cull);
	CHECK(cpu_template_arch_caps(CPU_TEMPLATE_T2CL, 0xffffffffffffffffull, &v));
	CHECK_EQ(v, 0x1d0ae1ffull);
	CHECK(cpu_template_arch_caps(CPU_TEMPLATE_T2CL, 0x20000, &v));
	CHECK_EQ(v, 0x20000ull); /* FB_CLEAR kept when the host has it */
	CHECK(!cpu_template_arch_caps(CPU_TEMPLATE_T2, 0xff, &v));
	CHECK(!cpu_template_arch_caps(CPU_TEMPLATE_T2A, 0xff, &v));
	CHECK(!cpu_template_arch_caps(CPU_TEMPLATE_NONE, 0xff, &v));
}

/* cpuid_policy_build puts the template over its finished table. */
TEST(cpu_template_goes_over_the_cpuid_policy)
{
	struct cpuid_entry host[16], out[64];
	unsigned nh = table(host, "GenuineIntel", true);
	struct cpuid_policy_opts o = { .template = CPU_TEMPLATE_T2 };
	int n = cpuid_policy_build(host, nh, 0, 1, &o, out, ARRAY_SIZE(out));

	REQUIRE(n > 0);
	CHECK_EQ(leaf(out, (unsigned)n, 1, 0)->eax & 0x0fff3fffu, 0x000306f2);
	CHECK(!(leaf(out, (unsigned)n, 1, 0)->ecx & BIT(3))); /* MONITOR, off by both */
	CHECK(leaf(out, (unsigned)n, 1, 0)->ecx & BIT(31)); /* the hypervisor bit vmon sets */
	CHECK(!(leaf(out, (unsigned)n, 7, 0)->ebx & BIT(16)));
	o.template = CPU_TEMPLATE_NONE;
	n = cpuid_policy_build(host, nh, 0, 1, &o, out, ARRAY_SIZE(out));
	REQUIRE(n > 0);
	CHECK(leaf(out, (unsigned)n, 7, 0)->ebx & BIT(16));
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(cpu_template_names_round_trip)
	HARNESS_T(cpu_template_is_refused_on_the_other_vendor)
	HARNESS_T(cpu_template_t2_masks_the_leaves_it_names)
	HARNESS_T(cpu_template_t2a_and_c3_differ_from_t2_where_firecracker_s_do)
	HARNESS_T(cpu_template_arch_capabilities)
	HARNESS_T(cpu_template_goes_over_the_cpuid_policy)
)
// clang-format on
