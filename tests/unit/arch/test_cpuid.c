/* test_cpuid.c — CPUID policy per vCPU (APIC IDs, topology, vendor leaves, KVM leaves) and the boot
 * MSR list. */
#include <cpuid.h>
#include <errno.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/msr.h"
#include "harness.h"
#include "util/compiler.h"

static void vendor(struct cpuid_entry *e, const char *v)
{
	memcpy(&e->ebx, v, 4);
	memcpy(&e->edx, v + 4, 4);
	memcpy(&e->ecx, v + 8, 4);
}

/* A host table like KVM_GET_SUPPORTED_CPUID's, for @v ("GenuineIntel"/"AuthenticAMD"). */
static unsigned host_table(struct cpuid_entry *h, const char *v)
{
	unsigned n = 0;

	h[n] = (struct cpuid_entry){ .function = 0, .eax = 0x1F };
	vendor(&h[n++], v);
	h[n++] = (struct cpuid_entry){ .function = 1,
				       .eax = 0x806F8,
				       .ebx = 0xFF0800,
				       .ecx = 0x7FFAF3FF | CPUID_1_ECX_MONITOR |
					      CPUID_1_ECX_TSC_DEADLINE,
				       .edx = 0x1F8BFBFF };
	h[n++] = (struct cpuid_entry){ .function = 4, .index = 0, .flags = 1, .eax = 0xFC004121 };
	h[n++] = (struct cpuid_entry){ .function = 4, .index = 3, .flags = 1, .eax = 0xFC07C163 };
	h[n++] = (struct cpuid_entry){ .function = 5, .eax = 0x40, .ebx = 0x40, .ecx = 3 };
	h[n++] = (struct cpuid_entry){ .function = 6, .eax = 4 };
	h[n++] = (struct cpuid_entry){ .function = 0xA, .eax = 0, .ebx = 0x7F, .edx = 0x603 };
	h[n++] =
		(struct cpuid_entry){ .function = 0xB, .index = 0, .flags = 1, .eax = 1, .ebx = 2 };
	h[n++] = (struct cpuid_entry){
		.function = 0xB, .index = 1, .flags = 1, .eax = 7, .ebx = 96
	};
	h[n++] = (struct cpuid_entry){ .function = 0x40000001, .eax = 0x01007AFB };
	h[n++] = (struct cpuid_entry){ .function = 0x80000000, .eax = 0x8000001E };
	h[n++] = (struct cpuid_entry){ .function = 0x80000001, .ecx = 0x121 };
	h[n++] = (struct cpuid_entry){ .function = 0x80000008, .eax = 0x3030, .ecx = 0x7007 };
	h[n++] = (struct cpuid_entry){
		.function = 0x8000001E, .eax = 9, .ebx = 0x109, .ecx = 0x300
	};
	return n;
}

static struct cpuid_entry out[8][64];

static unsigned build(const struct cpuid_entry *h, unsigned nh, unsigned i, unsigned n,
		      bool tsc_deadline)
{
	struct cpuid_policy_opts o = { .tsc_deadline = tsc_deadline };
	int r = cpuid_policy_build(h, nh, i, n, &o, out[i], ARRAY_SIZE(out[i]));

	REQUIRE(r > 0);
	return (unsigned)r;
}

TEST(cpuid_apic_ids_distinct_and_topology_consistent)
{
	struct cpuid_entry h[32];
	unsigned nh = host_table(h, "GenuineIntel"), n = 6, cnt[8];

	for (unsigned i = 0; i < n; i++)
		cnt[i] = build(h, nh, i, n, false);
	for (unsigned i = 0; i < n; i++) {
		const struct cpuid_entry *l1 = cpuid_find(out[i], cnt[i], 1, 0);

		REQUIRE(l1);
		CHECK_EQ(l1->ebx >> 24, i);
		CHECK_EQ((l1->ebx >> 16) & 0xFF, n);
		CHECK_EQ((l1->ebx >> 8) & 0xFF, 8);
		CHECK(l1->edx & CPUID_1_EDX_HTT);
		for (unsigned j = 0; j < i; j++)
			CHECK((cpuid_find(out[j], cnt[j], 1, 0)->ebx >> 24) != i);
		for (uint32_t fn = 0xB; fn <= 0x1F; fn += 0x14) {
			const struct cpuid_entry *s0 = cpuid_find(out[i], cnt[i], fn, 0);
			const struct cpuid_entry *s1 = cpuid_find(out[i], cnt[i], fn, 1);
			const struct cpuid_entry *s2 = cpuid_find(out[i], cnt[i], fn, 2);

			REQUIRE(s0 && s1 && s2);
			CHECK_EQ(s0->edx, i); /* x2APIC ID = APIC ID */
			CHECK_EQ(s1->edx, i);
			CHECK_EQ(s0->ebx, 1); /* 1 thread per core */
			CHECK_EQ((s0->ecx >> 8) & 0xFF, 1); /* SMT */
			CHECK_EQ(s0->eax & 0x1F, 0);
			CHECK_EQ(s1->ebx, n); /* n cores */
			CHECK_EQ((s1->ecx >> 8) & 0xFF, 2); /* core */
			CHECK_EQ(s1->eax & 0x1F, 3); /* 6 cores need 3 bits */
			CHECK(i >> (s1->eax & 0x1F) == 0); /* one package */
			CHECK_EQ((s2->ecx >> 8) & 0xFF, 0);
			CHECK_EQ(s2->ecx & 0xFF, 2);
			CHECK_EQ(s2->ebx, 0);
		}
	}
	/* the host's own 0xB entries are replaced, not kept beside ours */
	unsigned nb = 0;

	for (unsigned k = 0; k < cnt[0]; k++)
		nb += out[0][k].function == 0xB;
	CHECK_EQ(nb, 3);
}

TEST(cpuid_sets_hypervisor_bits_and_clears_unemulated)
{
	struct cpuid_entry h[32];
	unsigned nh = host_table(h, "GenuineIntel"), c;
	const struct cpuid_entry *e;

	c = build(h, nh, 0, 1, false);
	e = cpuid_find(out[0], c, 1, 0);
	CHECK(e->ecx & CPUID_1_ECX_HYPERVISOR);
	CHECK(e->ecx & CPUID_1_ECX_X2APIC);
	CHECK(!(e->ecx & CPUID_1_ECX_MONITOR));
	CHECK(!(e->ecx & CPUID_1_ECX_TSC_DEADLINE));
	CHECK(!(e->edx & CPUID_1_EDX_HTT));
	e = cpuid_find(out[0], c, 5, 0);
	CHECK(e && !e->eax && !e->ebx && !e->ecx && !e->edx);
	e = cpuid_find(out[0], c, 6, 0);
	CHECK(e && !e->eax);
	e = cpuid_find(out[0], c, 0xA, 0); /* PMU version 0: zeroed */
	CHECK(e && !e->ebx && !e->edx);
	c = build(h, nh, 0, 1, true);
	CHECK(cpuid_find(out[0], c, 1, 0)->ecx & CPUID_1_ECX_TSC_DEADLINE);
	h[6].eax = 2; /* PMU version 2: kept */
	c = build(h, nh, 0, 1, false);
	CHECK_EQ(cpuid_find(out[0], c, 0xA, 0)->ebx, 0x7F);
}

TEST(cpuid_kvm_leaves)
{
	struct cpuid_entry h[32];
	unsigned nh = host_table(h, "GenuineIntel"), c;
	const struct cpuid_entry *e;
	char sig[13] = { 0 };

	c = build(h, nh, 1, 2, false);
	e = cpuid_find(out[1], c, 0x40000000, 0);
	REQUIRE(e);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	CHECK(memcmp(sig, "KVMKVMKVM\0\0\0", 12) == 0);
	CHECK_EQ(e->eax, 0x40000001);
	e = cpuid_find(out[1], c, 0x40000001, 0);
	REQUIRE(e);
	CHECK_EQ(e->eax, 0x01007AFB);
	/* no KVM features on the host: the leaf is there, empty */
	h[9].function = 0x7; /* turn the host's 0x40000001 into something else */
	c = build(h, nh, 1, 2, false);
	e = cpuid_find(out[1], c, 0x40000001, 0);
	REQUIRE(e);
	CHECK_EQ(e->eax, 0);
}

TEST(cpuid_intel_leaf4_core_counts)
{
	struct cpuid_entry h[32];
	unsigned nh = host_table(h, "GenuineIntel"), c = build(h, nh, 0, 4, false);
	const struct cpuid_entry *l1d = cpuid_find(out[0], c, 4, 0);
	const struct cpuid_entry *l3 = cpuid_find(out[0], c, 4, 3);

	REQUIRE(l1d && l3);
	CHECK_EQ(l1d->eax >> 26, 3);
	CHECK_EQ((l1d->eax >> 14) & 0xFFF, 0);
	CHECK_EQ(l3->eax >> 26, 3);
	CHECK_EQ((l3->eax >> 14) & 0xFFF, 3);
	CHECK_EQ(l3->eax & 0x3FFF, 0xC163 & 0x3FFF);
}

TEST(cpuid_amd_topology_leaves)
{
	struct cpuid_entry h[32];
	unsigned nh = host_table(h, "AuthenticAMD"), c = build(h, nh, 2, 5, false);
	const struct cpuid_entry *e;

	e = cpuid_find(out[2], c, 0x80000008, 0);
	REQUIRE(e);
	CHECK_EQ(e->ecx & 0xFF, 4);
	CHECK_EQ((e->ecx >> 12) & 0xF, 3);
	e = cpuid_find(out[2], c, 0x8000001E, 0);
	REQUIRE(e);
	CHECK_EQ(e->eax, 2);
	CHECK_EQ(e->ebx & 0xFF, 2);
	CHECK_EQ((e->ebx >> 8) & 0xFF, 0);
	CHECK_EQ(e->ecx, 0);
	e = cpuid_find(out[2], c, 0x80000001, 0);
	CHECK(e->ecx & CPUID_80000001_ECX_CMP_LEGACY);
	/* Intel leaf 4 rewrite does not apply to AMD */
	CHECK_EQ(cpuid_find(out[2], c, 4, 0)->eax, 0xFC004121);
}

TEST(cpuid_refuses_bad_arguments)
{
	struct cpuid_entry h[32], small[4];
	unsigned nh = host_table(h, "GenuineIntel");

	CHECK_EQ(cpuid_policy_build(h, nh, 2, 2, NULL, out[0], 64), -EINVAL);
	CHECK_EQ(cpuid_policy_build(h, nh, 0, 0, NULL, out[0], 64), -EINVAL);
	CHECK_EQ(cpuid_policy_build(h, nh, 0, CPUID_MAX_VCPUS + 1, NULL, out[0], 64), -EINVAL);
	CHECK_EQ(cpuid_policy_build(h + 1, nh - 1, 0, 1, NULL, out[0], 64), -EINVAL);
	CHECK_EQ(cpuid_policy_build(h, nh, 0, 1, NULL, small, ARRAY_SIZE(small)), -E2BIG);
	CHECK(cpuid_policy_size(nh) <= 64);
}

/* The real CPU's leaves as a host table: the policy copes with whatever it finds. */
TEST(cpuid_policy_on_host_cpu)
{
	struct cpuid_entry h[64];
	unsigned nh = 0, a, b, c, d, maxl, c0;

	__cpuid(0, maxl, b, c, d);
	for (unsigned fn = 0; fn <= maxl && fn < 0x20 && nh < 48; fn++) {
		__cpuid_count(fn, 0, a, b, c, d);
		h[nh++] = (struct cpuid_entry){
			.function = fn, .eax = a, .ebx = b, .ecx = c, .edx = d
		};
	}
	c0 = build(h, nh, 3, 4, false);
	CHECK_EQ(cpuid_find(out[3], c0, 1, 0)->ebx >> 24, 3);
	CHECK(cpuid_find(out[3], c0, 0x40000000, 0) != NULL);
}

TEST(msr_boot_list_values)
{
	struct x86_msr m[MSR_BOOT_NR];
	bool seen_misc = false, seen_mtrr = false, seen_lstar = false, seen_tsc = false;

	CHECK_EQ(msr_boot_list(m, MSR_BOOT_NR - 1), -E2BIG);
	REQUIRE(msr_boot_list(m, MSR_BOOT_NR) == MSR_BOOT_NR);
	for (unsigned i = 0; i < MSR_BOOT_NR; i++) {
		for (unsigned j = 0; j < i; j++)
			CHECK(m[i].index != m[j].index);
		if (m[i].index == 0x1A0)
			seen_misc = m[i].value == 1;
		else if (m[i].index == 0x2FF)
			seen_mtrr = m[i].value == 0x806;
		else if (m[i].index == 0xC0000082)
			seen_lstar = m[i].value == 0;
		else if (m[i].index == 0x10)
			seen_tsc = m[i].value == 0;
	}
	CHECK(seen_misc && seen_mtrr && seen_lstar && seen_tsc);
}

TEST(cpuid_check_features_refuses_a_feature_this_host_lacks)
{
	static const struct cpuid_entry here[] = {
		{ 1, 0, 0, 0, 0, 0x00002201, 0x178bfbff },
		{ 7, 0, CPUID_FLAG_SIGNIFICANT_INDEX, 0, 0x000001a9, 0x00000004, 0 },
		{ 0x80000001u, 0, 0, 0, 0, 0x00000021, 0x2c100800 },
	};
	struct cpuid_entry guest[] = {
		{ 1, 0, 0, 0x000906ea, 0x01000800, 0x08002201, 0x178bfbff }, /* + OSXSAVE */
		{ 7, 0, CPUID_FLAG_SIGNIFICANT_INDEX, 0, 0x000001a9, 0x00000014, 0 }, /* + OSPKE */
		{ 0x80000001u, 0, 0, 0, 0, 0x00000001, 0x2c100800 },
	};
	char err[256] = "";

	/* the same features, and bits the guest's own CR4 set: compatible; fewer: compatible */
	CHECK_EQ(cpuid_check_features(guest, 3, here, 3, err, sizeof(err)), 0);
	/* leaf 7 EBX bit 1 (TSC_ADJUST) offered there, not here */
	guest[1].ebx |= 1u << 1;
	CHECK_EQ(cpuid_check_features(guest, 3, here, 3, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "7.0.EBX bits 0x00000002") != NULL);
	guest[1].ebx &= ~(1u << 1);
	/* a leaf this host does not have at all */
	CHECK_EQ(cpuid_check_features(guest, 3, here, 2, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "0x80000001.ECX") != NULL);
	/* a guest that recorded no CPUID has nothing to check */
	CHECK_EQ(cpuid_check_features(guest, 0, here, 3, err, sizeof(err)), 0);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(cpuid_apic_ids_distinct_and_topology_consistent)
	HARNESS_T(cpuid_sets_hypervisor_bits_and_clears_unemulated)
	HARNESS_T(cpuid_kvm_leaves)
	HARNESS_T(cpuid_intel_leaf4_core_counts)
	HARNESS_T(cpuid_amd_topology_leaves)
	HARNESS_T(cpuid_refuses_bad_arguments)
	HARNESS_T(cpuid_policy_on_host_cpu)
	HARNESS_T(msr_boot_list_values)
	HARNESS_T(cpuid_check_features_refuses_a_feature_this_host_lacks)
)
// clang-format on
