/* test_pci.c — host bridge, CF8/CFC and ECAM, BAR sizing and moves, capabilities, MSI-X, INTx. */
#include <errno.h>
#include <stdlib.h>

#include <linux/pci_regs.h>

#include "bus/bus.h"
#include "bus/pci.h"
#include "fake_platform.h"
#include "harness.h"

struct env {
	struct bus pio, mmio;
	struct pci_bus pb;
	struct fake_platform fp;
	struct pci_device dev;
	uint64_t bar_reads, bar_writes, last_off;
	int resets;
};

static uint64_t dbar_read(void *o, uint64_t off, unsigned size)
{
	struct env *e = o;

	e->bar_reads++;
	e->last_off = off;
	if (off >= 0x1000)
		return pci_msix_read(&e->dev, off, size);
	return 0xabcd;
}

static void dbar_write(void *o, uint64_t off, uint64_t v, unsigned size)
{
	struct env *e = o;

	e->bar_writes++;
	e->last_off = off;
	if (off >= 0x1000)
		pci_msix_write(&e->dev, off, v, size);
}

static const struct bus_region_ops dbar_ops = { dbar_read, dbar_write };

static uint64_t cf9_read(void *o, uint64_t off, unsigned size)
{
	(void)o;
	return off == 0 && size == 1 ? 0x42 : ~0ull;
}

static void cf9_write(void *o, uint64_t off, uint64_t v, unsigned size)
{
	if (off == 0 && size == 1 && (v & 0x04))
		((struct env *)o)->resets++;
}

static const struct bus_region_ops cf9_ops = { cf9_read, cf9_write };

static struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));

	fp_init(&e->fp);
	bus_init(&e->pio, "pio");
	bus_init(&e->mmio, "mmio");
	if (pci_bus_init(&e->pb, &e->pio, &e->mmio, &e->fp.plat, &cf9_ops, e))
		abort();
	pci_device_init(&e->dev, "dummy", 0x1234, 0x5678, 0x020000, 0x1af4, 0x42, 3);
	pci_device_add_bar(&e->dev, 0, 0x4000, &dbar_ops, e);
	pci_device_add_msix(&e->dev, 4, 0, 0x1000, 0x2000);
	if (pci_bus_attach(&e->pb, &e->dev, 3))
		abort();
	return e;
}

static void env_free(struct env *e)
{
	pci_bus_destroy(&e->pb);
	pci_device_fini(&e->dev);
	bus_destroy(&e->pio);
	bus_destroy(&e->mmio);
	free(e);
}

static uint32_t cf8_read(struct env *e, unsigned dev, unsigned reg, unsigned size)
{
	uint32_t a = 0x80000000u | dev << 11 | (reg & 0xfc), v = 0;

	bus_write(&e->pio, 0xcf8, &a, 4);
	bus_read(&e->pio, 0xcfc + (reg & 3), &v, size);
	return v;
}

static void cf8_write(struct env *e, unsigned dev, unsigned reg, uint32_t v, unsigned size)
{
	uint32_t a = 0x80000000u | dev << 11 | (reg & 0xfc);

	bus_write(&e->pio, 0xcf8, &a, 4);
	bus_write(&e->pio, 0xcfc + (reg & 3), &v, size);
}

static uint32_t ecam_read(struct env *e, unsigned dev, unsigned reg, unsigned size)
{
	uint32_t v = 0;

	bus_read(&e->mmio, PCI_ECAM_BASE + (dev << 15) + reg, &v, size);
	return v;
}

TEST(pci_host_bridge_and_device_visible)
{
	struct env *e = env_new();

	CHECK_EQ(cf8_read(e, 0, 0, 4), 0x00081b36);
	CHECK_EQ(cf8_read(e, 0, PCI_CLASS_DEVICE, 2), 0x0600);
	CHECK_EQ(cf8_read(e, 3, 0, 4), 0x56781234);
	CHECK_EQ(cf8_read(e, 3, 2, 2), 0x5678);
	CHECK_EQ(cf8_read(e, 3, PCI_CLASS_REVISION, 4), 0x02000003);
	CHECK_EQ(cf8_read(e, 3, PCI_INTERRUPT_PIN, 1), 1);
	CHECK_EQ(cf8_read(e, 3, PCI_INTERRUPT_LINE, 1), pci_slot_intx_gsi(3));
	CHECK_EQ(ecam_read(e, 3, 0, 4), 0x56781234);
	CHECK_EQ(ecam_read(e, 3, 0x100, 4), 0); /* no extended caps */
	env_free(e);
}

TEST(pci_absent_device_reads_all_ones)
{
	struct env *e = env_new();
	uint32_t a = 0x00001800; /* enable bit clear */
	uint32_t v = 0;

	CHECK_EQ(cf8_read(e, 7, 0, 4), 0xffffffffu);
	CHECK_EQ(ecam_read(e, 9, 0, 2), 0xffff);
	CHECK_EQ(cf8_read(e, 3, 0x100 - 4, 4), 0); /* in range, unused */
	bus_write(&e->pio, 0xcf8, &a, 4);
	bus_read(&e->pio, 0xcfc, &v, 4);
	CHECK_EQ(v, 0xffffffffu);
	/* function 1 does not exist */
	CHECK_EQ(ecam_read(e, 3, 0, 4) != 0xffffffffu, 1);
	v = 0;
	bus_read(&e->mmio, PCI_ECAM_BASE + (3 << 15) + (1 << 12), &v, 4);
	CHECK_EQ(v, 0xffffffffu);
	env_free(e);
}

TEST(pci_ids_are_read_only)
{
	struct env *e = env_new();

	cf8_write(e, 3, 0, 0, 4);
	cf8_write(e, 3, PCI_CLASS_REVISION, 0, 4);
	cf8_write(e, 3, PCI_INTERRUPT_PIN, 7, 1);
	CHECK_EQ(cf8_read(e, 3, 0, 4), 0x56781234);
	CHECK_EQ(cf8_read(e, 3, PCI_CLASS_REVISION, 4), 0x02000003);
	CHECK_EQ(cf8_read(e, 3, PCI_INTERRUPT_PIN, 1), 1);
	cf8_write(e, 3, PCI_INTERRUPT_LINE, 11, 1);
	CHECK_EQ(cf8_read(e, 3, PCI_INTERRUPT_LINE, 1), 11);
	env_free(e);
}

TEST(pci_bar_sizing_and_mapping)
{
	struct env *e = env_new();
	uint32_t bar = cf8_read(e, 3, PCI_BASE_ADDRESS_0, 4), v = 0;

	CHECK(bar >= PCI_MMIO_BASE && bar < PCI_MMIO_BASE + PCI_MMIO_SIZE);
	CHECK_EQ(bar & 0x3fff, 0);
	/* not decoded until the command register enables memory */
	CHECK(!bus_read(&e->mmio, bar, &v, 4));
	cf8_write(e, 3, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	CHECK_EQ(cf8_read(e, 3, PCI_BASE_ADDRESS_0, 4), 0xffffc000u);
	CHECK_EQ(cf8_read(e, 3, PCI_BASE_ADDRESS_1, 4), 0); /* unused BAR */
	cf8_write(e, 3, PCI_BASE_ADDRESS_1, 0xffffffffu, 4);
	CHECK_EQ(cf8_read(e, 3, PCI_BASE_ADDRESS_1, 4), 0);
	cf8_write(e, 3, PCI_BASE_ADDRESS_0, bar, 4);
	cf8_write(e, 3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	CHECK(bus_read(&e->mmio, bar + 8, &v, 4));
	CHECK_EQ(v, 0xabcd);
	CHECK_EQ(e->last_off, 8);
	/* sizing while decoding: unmapped during, remapped after */
	cf8_write(e, 3, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	CHECK(!bus_read(&e->mmio, bar + 8, &v, 4));
	cf8_write(e, 3, PCI_BASE_ADDRESS_0, bar, 4);
	CHECK(bus_read(&e->mmio, bar + 8, &v, 4));
	/* move it */
	cf8_write(e, 3, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	CHECK(!bus_read(&e->mmio, bar + 8, &v, 4));
	CHECK(bus_read(&e->mmio, 0xd0000004u, &v, 4));
	CHECK_EQ(e->last_off, 4);
	/* onto the ECAM window: refused by the bus, stays unmapped, no crash */
	cf8_write(e, 3, PCI_BASE_ADDRESS_0, (uint32_t)PCI_ECAM_BASE, 4);
	CHECK_EQ(ecam_read(e, 3, 0, 4), 0x56781234);
	cf8_write(e, 3, PCI_COMMAND, 0, 2);
	CHECK(!bus_read(&e->mmio, 0xd0000004u, &v, 4));
	env_free(e);
}

TEST(pci_capability_list_walks_to_msix)
{
	struct env *e = env_new();
	unsigned off, n = 0;
	bool found = false;

	CHECK(cf8_read(e, 3, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	off = cf8_read(e, 3, PCI_CAPABILITY_LIST, 1);
	while (off && n++ < 48) {
		if (cf8_read(e, 3, off, 1) == PCI_CAP_ID_MSIX) {
			found = true;
			CHECK_EQ(cf8_read(e, 3, off + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, 3);
			CHECK_EQ(cf8_read(e, 3, off + PCI_MSIX_TABLE, 4), 0x1000);
			CHECK_EQ(cf8_read(e, 3, off + PCI_MSIX_PBA, 4), 0x2000);
		}
		off = cf8_read(e, 3, off + 1, 1);
	}
	CHECK(found);
	env_free(e);
}

TEST(pci_msix_masking_and_pba)
{
	struct env *e = env_new();
	uint32_t bar = cf8_read(e, 3, PCI_BASE_ADDRESS_0, 4), v;
	unsigned cap = e->dev.msix_cap;
	uint32_t addr = 0xfee00000u, data = 0x41;

	cf8_write(e, 3, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	/* disabled: notify fails, the caller falls back to INTx */
	CHECK_EQ(pci_msix_notify(&e->dev, 1), -EINVAL);
	cf8_write(e, 3, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	bus_write(&e->mmio, bar + 0x1010, &addr, 4);
	bus_write(&e->mmio, bar + 0x1018, &data, 4);
	/* entries start masked: the message goes pending */
	CHECK_EQ(pci_msix_notify(&e->dev, 1), 0);
	CHECK_EQ(e->fp.nr_msi, 0);
	v = 0;
	bus_read(&e->mmio, bar + 0x2000, &v, 4);
	CHECK_EQ(v, 2);
	/* unmask: delivered, PBA clear */
	v = 0;
	bus_write(&e->mmio, bar + 0x101c, &v, 4);
	CHECK_EQ(e->fp.nr_msi, 1);
	CHECK_EQ(e->fp.msi[0].addr, 0xfee00000u);
	CHECK_EQ(e->fp.msi[0].data, 0x41);
	bus_read(&e->mmio, bar + 0x2000, &v, 4);
	CHECK_EQ(v, 0);
	/* function mask holds it back, clearing it delivers */
	cf8_write(e, 3, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	CHECK_EQ(pci_msix_notify(&e->dev, 1), 0);
	CHECK_EQ(e->fp.nr_msi, 1);
	cf8_write(e, 3, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	CHECK_EQ(e->fp.nr_msi, 2);
	/* vector beyond the table */
	CHECK_EQ(pci_msix_notify(&e->dev, 4), -EINVAL);
	/* PBA is read-only; table reads back; odd sizes are ignored */
	v = 0xffffffffu;
	bus_write(&e->mmio, bar + 0x2000, &v, 4);
	bus_read(&e->mmio, bar + 0x2000, &v, 4);
	CHECK_EQ(v, 0);
	bus_read(&e->mmio, bar + 0x1018, &v, 4);
	CHECK_EQ(v, 0x41);
	v = 0x77;
	bus_write(&e->mmio, bar + 0x1018, &v, 1);
	bus_read(&e->mmio, bar + 0x1018, &v, 4);
	CHECK_EQ(v, 0x41);
	env_free(e);
}

TEST(pci_intx_level_and_disable)
{
	struct env *e = env_new();
	unsigned gsi = pci_slot_intx_gsi(3);

	pci_intx_set(&e->dev, 1);
	CHECK_EQ(e->fp.intx[gsi], 1);
	CHECK(cf8_read(e, 3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cf8_write(e, 3, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	CHECK_EQ(e->fp.intx[gsi], 0);
	CHECK(cf8_read(e, 3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cf8_write(e, 3, PCI_COMMAND, 0, 2);
	CHECK_EQ(e->fp.intx[gsi], 1);
	pci_intx_set(&e->dev, 0);
	CHECK_EQ(e->fp.intx[gsi], 0);
	CHECK(!(cf8_read(e, 3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
	env_free(e);
}

TEST(pci_intx_shared_line_is_wired_or)
{
	struct env *e = env_new();
	struct pci_device other;
	unsigned gsi = pci_slot_intx_gsi(3);

	CHECK_EQ(pci_slot_intx_gsi(11), gsi);
	pci_device_init(&other, "other", 0x1234, 0x9999, 0x020000, 0, 0, 0);
	REQUIRE(pci_bus_attach(&e->pb, &other, 11) == 0);
	pci_intx_set(&e->dev, 1);
	pci_intx_set(&other, 1);
	CHECK_EQ(e->fp.intx[gsi], 1);
	pci_intx_set(&e->dev, 0);
	CHECK_EQ(e->fp.intx[gsi], 1); /* the other device still drives it */
	pci_intx_set(&other, 0);
	CHECK_EQ(e->fp.intx[gsi], 0);
	pci_intx_set(&other, 1);
	pci_bus_detach(&e->pb, &other); /* a detached device lets go of the line */
	CHECK_EQ(e->fp.intx[gsi], 0);
	pci_device_fini(&other);
	env_free(e);
}

TEST(pci_reset_control_port)
{
	struct env *e = env_new();
	uint8_t b = 0x02;

	bus_write(&e->pio, 0xcf9, &b, 1);
	CHECK_EQ(e->resets, 0);
	b = 0x06;
	bus_write(&e->pio, 0xcf9, &b, 1);
	CHECK_EQ(e->resets, 1);
	b = 0;
	bus_read(&e->pio, 0xcf9, &b, 1);
	CHECK_EQ(b, 0x42);
	env_free(e);
}

TEST(pci_save_load_round_trip)
{
	struct env *e = env_new(), *f = env_new();
	struct state_writer w;
	struct state_reader r;
	uint32_t addr = 0xfee01000u, v = 0;
	uint32_t bar;

	cf8_write(e, 3, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	cf8_write(e, 3, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	bus_write(&e->mmio, 0xd0001020u, &addr, 4);
	state_writer_init(&w);
	pci_device_save(&e->dev, &w);
	state_reader_init(&r, w.buf, w.len);
	CHECK_EQ(pci_device_load(&f->dev, &r), 0);
	CHECK_EQ(state_done(&r), 0);
	bar = cf8_read(f, 3, PCI_BASE_ADDRESS_0, 4);
	CHECK_EQ(bar, 0xd0000000u);
	CHECK(bus_read(&f->mmio, 0xd0001020u, &v, 4));
	CHECK_EQ(v, 0xfee01000u);
	/* truncated image refused */
	state_reader_init(&r, w.buf, w.len / 2);
	CHECK_EQ(pci_device_load(&f->dev, &r), -EINVAL);
	state_writer_free(&w);
	env_free(e);
	env_free(f);
}

static unsigned rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

TEST(pci_random_config_accesses)
{
	struct env *e = env_new();
	unsigned seed = 12345;

	for (unsigned i = 0; i < 200000; i++) {
		unsigned dev = rnd(&seed) & 31;
		unsigned reg = rnd(&seed) & 0xfff;
		unsigned size = 1u << (rnd(&seed) & 3);
		uint64_t val = (uint64_t)rnd(&seed) << 32 | rnd(&seed);
		uint64_t out;

		if (reg == PCI_COMMAND && dev == 3)
			val &= ~(uint64_t)
				       PCI_COMMAND_MEMORY; /* keep the ECAM test below meaningful */
		if (i & 1)
			bus_write(&e->mmio, PCI_ECAM_BASE + (dev << 15) + reg, &val, size);
		else
			bus_read(&e->mmio, PCI_ECAM_BASE + (dev << 15) + reg, &out, size);
		if (i % 3 == 0)
			bus_write(&e->pio, 0xcf8 + (reg & 7), &val, size);
		else
			bus_read(&e->pio, 0xcf8 + (reg & 7), &out, size);
	}
	CHECK_EQ(ecam_read(e, 3, 0, 4), 0x56781234);
	CHECK_EQ(ecam_read(e, 0, 0, 4), 0x00081b36);
	env_free(e);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(pci_host_bridge_and_device_visible)
	HARNESS_T(pci_absent_device_reads_all_ones)
	HARNESS_T(pci_ids_are_read_only)
	HARNESS_T(pci_bar_sizing_and_mapping)
	HARNESS_T(pci_capability_list_walks_to_msix)
	HARNESS_T(pci_msix_masking_and_pba)
	HARNESS_T(pci_intx_level_and_disable)
	HARNESS_T(pci_intx_shared_line_is_wired_or)
	HARNESS_T(pci_reset_control_port)
	HARNESS_T(pci_save_load_round_trip)
	HARNESS_T(pci_random_config_accesses)
)
// clang-format on
