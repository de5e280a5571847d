/* test_vmgenid.c — the VM generation ID: fresh random bytes through gmem, the edge after them. */
#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "devices/vmgenid.h"
#include "fake_platform.h"
#include "harness.h"

/* A guest with RAM over the ID page (and a page either side). */
static uint8_t ram[3 * 4096];
static const uint64_t ram_gpa = LAYOUT_VMGENID_GPA - 4096;

static void guest(struct gmem *gm)
{
	memset(ram, 0, sizeof(ram));
	gmem_init(gm);
	REQUIRE(gmem_add_hva(gm, ram_gpa, sizeof(ram), ram) == 0);
}

static const uint8_t *id_of(struct gmem *gm)
{
	return gmem_ptr(gm, LAYOUT_VMGENID_GPA, VMGENID_ID_BYTES);
}

/* What the guest would read in its interrupt handler: the ID at each raise. */
struct id_irq {
	struct fake_irq f;
	struct gmem *gm;
	uint8_t at_raise[VMGENID_ID_BYTES];
};

static void id_irq_set(struct irq_line *line, int level)
{
	struct id_irq *i = line->opaque;

	if (level && !i->f.level)
		memcpy(i->at_raise, id_of(i->gm), VMGENID_ID_BYTES);
	i->f.line.opaque = &i->f;
	fake_irq_set(line, level);
	i->f.line.opaque = i;
}

static void id_irq_init(struct id_irq *i, struct gmem *gm)
{
	fake_irq_init(&i->f);
	i->f.line.set_level = id_irq_set;
	i->f.line.opaque = i;
	i->f.line.gsi = VMGENID_GSI;
	i->gm = gm;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

TEST(vmgenid_fill_writes_16_fresh_bytes_and_nothing_else)
{
	struct gmem gm;
	uint8_t first[VMGENID_ID_BYTES];

	guest(&gm);
	REQUIRE(vmgenid_fill(&gm, LAYOUT_VMGENID_GPA) == 0);
	CHECK(!all_zero(id_of(&gm), VMGENID_ID_BYTES)); /* 2^-128 to fail */
	memcpy(first, id_of(&gm), sizeof(first));
	REQUIRE(vmgenid_fill(&gm, LAYOUT_VMGENID_GPA) == 0);
	CHECK(memcmp(first, id_of(&gm), sizeof(first)) != 0);
	/* only the 16 bytes: the rest of the page and its neighbours stay zero */
	CHECK(all_zero(ram, 4096));
	CHECK(all_zero(ram + 4096 + VMGENID_ID_BYTES, sizeof(ram) - 4096 - VMGENID_ID_BYTES));
	/* outside guest RAM, or straddling its end: -EFAULT, nothing written */
	CHECK_EQ(vmgenid_fill(&gm, 0x100000000ull), -EFAULT);
	CHECK_EQ(vmgenid_fill(&gm, ram_gpa + sizeof(ram) - 8), -EFAULT);
	CHECK(all_zero(ram + sizeof(ram) - 8, 8));
	gmem_destroy(&gm);
}

TEST(vmgenid_new_generation_writes_the_id_then_pulses_the_line)
{
	struct gmem gm;
	struct id_irq irq;
	struct vmgenid *vg;
	uint8_t before[VMGENID_ID_BYTES];

	guest(&gm);
	id_irq_init(&irq, &gm);
	REQUIRE(vmgenid_fill(&gm, LAYOUT_VMGENID_GPA) == 0); /* the boot's ID */
	memcpy(before, id_of(&gm), sizeof(before));
	vg = vmgenid_create(&gm, LAYOUT_VMGENID_GPA, &irq.f.line);
	REQUIRE(vg);
	CHECK(memcmp(before, id_of(&gm), sizeof(before)) == 0); /* create writes nothing */
	CHECK_EQ(irq.f.calls, 0);

	REQUIRE(vmgenid_new_generation(vg) == 0);
	CHECK(memcmp(before, id_of(&gm), sizeof(before)) != 0);
	/* one edge, the line low again, and the new ID was in RAM when it rose */
	CHECK_EQ(irq.f.raises, 1);
	CHECK_EQ(irq.f.level, 0);
	CHECK_EQ(irq.f.calls, 2);
	CHECK(memcmp(irq.at_raise, id_of(&gm), VMGENID_ID_BYTES) == 0);

	/* every restore of one snapshot is a new generation */
	memcpy(before, id_of(&gm), sizeof(before));
	REQUIRE(vmgenid_new_generation(vg) == 0);
	CHECK(memcmp(before, id_of(&gm), sizeof(before)) != 0);
	CHECK_EQ(irq.f.raises, 2);
	CHECK_EQ(irq.f.level, 0);
	vmgenid_device_ops.destroy(vg);
	gmem_destroy(&gm);
}

TEST(vmgenid_raises_nothing_when_the_id_cannot_be_written)
{
	struct gmem gm;
	struct fake_irq irq;
	struct vmgenid *vg;

	guest(&gm);
	fake_irq_init(&irq);
	vg = vmgenid_create(&gm, 0x200000000ull, &irq.line); /* not guest RAM */
	REQUIRE(vg);
	CHECK_EQ(vmgenid_new_generation(vg), -EFAULT);
	CHECK_EQ(irq.calls, 0); /* no event for an ID the guest would not find changed */
	vmgenid_destroy(vg);
	vmgenid_destroy(NULL);
	gmem_destroy(&gm);
}

TEST(vmgenid_has_no_snapshot_section)
{
	/* nothing but guest RAM to keep: a snapshot has no "vmgenid" section to load or refuse */
	CHECK(strcmp(vmgenid_device_ops.name, "vmgenid") == 0);
	CHECK(vmgenid_device_ops.save == NULL);
	CHECK(vmgenid_device_ops.load == NULL);
	CHECK(vmgenid_device_ops.destroy != NULL);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(vmgenid_fill_writes_16_fresh_bytes_and_nothing_else)
	HARNESS_T(vmgenid_new_generation_writes_the_id_then_pulses_the_line)
	HARNESS_T(vmgenid_raises_nothing_when_the_id_cannot_be_written)
	HARNESS_T(vmgenid_has_no_snapshot_section)
)
// clang-format on
