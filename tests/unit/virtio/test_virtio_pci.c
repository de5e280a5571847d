/* test_virtio_pci.c — the virtio-pci transport driven like a guest driver through the PCI and MMIO
 * buses. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "bus/bus.h"
#include "bus/pci.h"
#include "fake_platform.h"
#include "harness.h"
#include "backends/chardev_buffer.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_pci.h"
#include "util/token_bucket.h"
#include "virtio/virtio_rng.h"
#include "vq_fake.h"

#define SLOT 4

struct env {
	struct bus pio, mmio;
	struct pci_bus pb;
	struct fake_platform fp;
	struct fake_guest g;
	struct virtio_pci *vp;
	uint64_t bar;
	struct chardev_buffer *cb;
};

static uint32_t cfg_rd(struct env *e, unsigned reg, unsigned size)
{
	uint32_t v = 0;

	bus_read(&e->mmio, PCI_ECAM_BASE + (SLOT << 15) + reg, &v, size);
	return v;
}

static void cfg_wr(struct env *e, unsigned reg, uint32_t v, unsigned size)
{
	bus_write(&e->mmio, PCI_ECAM_BASE + (SLOT << 15) + reg, &v, size);
}

static uint64_t rd(struct env *e, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	bus_read(&e->mmio, e->bar + off, &v, size);
	return v;
}

static void wr(struct env *e, uint64_t off, uint64_t v, unsigned size)
{
	bus_write(&e->mmio, e->bar + off, &v, size);
}

static struct env *env_new(bool console, bool with_watch)
{
	struct env *e = calloc(1, sizeof(*e));
	struct virtio_dev *vdev;

	fp_init(&e->fp);
	if (!with_watch)
		e->fp.plat.fd_watch = NULL;
	bus_init(&e->pio, "pio");
	bus_init(&e->mmio, "mmio");
	if (pci_bus_init(&e->pb, &e->pio, &e->mmio, &e->fp.plat, NULL, NULL))
		abort();
	fg_init(&e->g, NULL, 16);
	if (console) {
		e->cb = chardev_buffer_create(1024, 1024);
		if (virtio_console_create(&vdev, &e->g.gm, chardev_buffer_chardev(e->cb)))
			abort();
	} else if (virtio_rng_create(&vdev, &e->g.gm)) {
		abort();
	}
	if (virtio_pci_create(&e->vp, &e->pb, SLOT, vdev))
		abort();
	e->bar = cfg_rd(e, PCI_BASE_ADDRESS_0, 4) & ~0xfull;
	cfg_wr(e, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	return e;
}

static void env_free(struct env *e)
{
	virtio_pci_destroy(e->vp);
	pci_bus_destroy(&e->pb);
	bus_destroy(&e->pio);
	bus_destroy(&e->mmio);
	fg_fini(&e->g);
	if (e->cb)
		chardev_destroy(chardev_buffer_chardev(e->cb));
	free(e);
}

/* Find the vendor capability of @type; returns its config offset or 0. */
static unsigned find_vcap(struct env *e, unsigned type)
{
	unsigned off = cfg_rd(e, PCI_CAPABILITY_LIST, 1), n = 0;

	while (off && n++ < 48) {
		if (cfg_rd(e, off, 1) == PCI_CAP_ID_VNDR &&
		    cfg_rd(e, off + VIRTIO_PCI_CAP_CFG_TYPE, 1) == type)
			return off;
		off = cfg_rd(e, off + 1, 1);
	}
	return 0;
}

static uint64_t read_features(struct env *e)
{
	uint64_t f;

	wr(e, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	f = rd(e, VIRTIO_PCI_COMMON_DF, 4);
	wr(e, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	return f | rd(e, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

static void write_features(struct env *e, uint64_t f)
{
	wr(e, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	wr(e, VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	wr(e, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	wr(e, VIRTIO_PCI_COMMON_GF, f >> 32, 4);
}

/* The §3.1.1 driver initialisation, queue @q at the fake rings. */
static bool driver_init(struct env *e, uint64_t features, unsigned q)
{
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	wr(e, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	wr(e, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	wr(e, VIRTIO_PCI_COMMON_STATUS, s, 1);
	write_features(e, features);
	wr(e, VIRTIO_PCI_COMMON_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK, 1);
	if (!(rd(e, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	wr(e, VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	wr(e, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
	wr(e, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)FAKE_DESC, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_DESCHI, 0, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)FAKE_AVAIL, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)FAKE_USED, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_USEDHI, 0, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	wr(e, VIRTIO_PCI_COMMON_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK,
	   1);
	return rd(e, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_DRIVER_OK;
}

TEST(virtio_pci_ids_and_capabilities)
{
	struct env *e = env_new(false, true);
	unsigned c, n;

	CHECK_EQ(cfg_rd(e, PCI_VENDOR_ID, 2), 0x1af4);
	CHECK_EQ(cfg_rd(e, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
	CHECK(cfg_rd(e, PCI_SUBSYSTEM_ID, 2) >= 0x40);
	CHECK_EQ(cfg_rd(e, PCI_REVISION_ID, 1), 1);
	c = find_vcap(e, VIRTIO_PCI_CAP_COMMON_CFG);
	REQUIRE(c);
	CHECK_EQ(cfg_rd(e, c + VIRTIO_PCI_CAP_BAR, 1), 0);
	CHECK_EQ(cfg_rd(e, c + VIRTIO_PCI_CAP_OFFSET, 4), VIRTIO_PCI_COMMON_OFF);
	CHECK(cfg_rd(e, c + VIRTIO_PCI_CAP_LENGTH, 4) >= 0x38);
	n = find_vcap(e, VIRTIO_PCI_CAP_NOTIFY_CFG);
	REQUIRE(n);
	CHECK_EQ(cfg_rd(e, n + VIRTIO_PCI_CAP_OFFSET, 4), VIRTIO_PCI_NOTIFY_OFF);
	CHECK_EQ(cfg_rd(e, n + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
	CHECK(find_vcap(e, VIRTIO_PCI_CAP_ISR_CFG));
	CHECK(!find_vcap(e, VIRTIO_PCI_CAP_DEVICE_CFG)); /* rng has no config */
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
	/* the PCI-config access window reaches the same registers */
	c = find_vcap(e, VIRTIO_PCI_CAP_PCI_CFG);
	REQUIRE(c);
	cfg_wr(e, c + VIRTIO_PCI_CAP_BAR, 0, 1);
	cfg_wr(e, c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_NUMQ, 4);
	cfg_wr(e, c + VIRTIO_PCI_CAP_LENGTH, 2, 4);
	CHECK_EQ(cfg_rd(e, c + 16, 4), 1);
	cfg_wr(e, c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_Q_SELECT, 4);
	cfg_wr(e, c + 16, 0, 4);
	cfg_wr(e, c + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_Q_SIZE, 4);
	cfg_wr(e, c + 16, 64, 4);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
	cfg_wr(e, c + VIRTIO_PCI_CAP_BAR, 3, 1); /* no such BAR */
	CHECK_EQ(cfg_rd(e, c + 16, 4), 0);
	cfg_wr(e, c + VIRTIO_PCI_CAP_BAR, 0, 1);
	cfg_wr(e, c + VIRTIO_PCI_CAP_LENGTH, 3, 4); /* bad length */
	CHECK_EQ(cfg_rd(e, c + 16, 4), 0);
	env_free(e);
}

TEST(virtio_pci_features_need_version_1)
{
	struct env *e = env_new(false, true);
	uint64_t f = read_features(e);

	CHECK(f & (1ull << VIRTIO_F_VERSION_1));
	CHECK(f & (1ull << VIRTIO_RING_F_INDIRECT_DESC));
	CHECK(f & (1ull << VIRTIO_RING_F_EVENT_IDX));
	CHECK(!driver_init(e, f & ~(1ull << VIRTIO_F_VERSION_1), 0));
	/* DRIVER_OK without FEATURES_OK does not stick */
	wr(e, VIRTIO_PCI_COMMON_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	CHECK(!(rd(e, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_DRIVER_OK));
	/* features the device did not offer */
	CHECK(!driver_init(e, f | (1ull << 40), 0));
	CHECK(driver_init(e, f, 0));
	/* features are frozen after FEATURES_OK */
	write_features(e, 0);
	wr(e, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_GF, 4), (uint32_t)f);
	env_free(e);
}

TEST(virtio_pci_reset_clears_queues)
{
	struct env *e = env_new(false, true);

	REQUIRE(driver_init(e, read_features(e), 0));
	wr(e, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_DESCLO, 4), (uint32_t)FAKE_DESC);
	wr(e, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_NO_VECTOR);
	wr(e, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_GF, 4), 0);
	env_free(e);
}

TEST(virtio_pci_queue_registers)
{
	struct env *e = env_new(false, true);

	wr(e, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	wr(e, VIRTIO_PCI_COMMON_Q_SIZE, 100, 2); /* not a power of two: ignored */
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	wr(e, VIRTIO_PCI_COMMON_Q_SIZE, 512, 2); /* above the maximum */
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	wr(e, VIRTIO_PCI_COMMON_Q_SIZE, 32, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_SIZE, 2), 32);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	/* vectors beyond the MSI-X table read back NO_VECTOR */
	wr(e, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	wr(e, VIRTIO_PCI_COMMON_Q_MSIX, 7, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_NO_VECTOR);
	wr(e, VIRTIO_PCI_COMMON_MSIX, 0, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_MSIX, 2), 0);
	wr(e, VIRTIO_PCI_COMMON_MSIX, 2, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_NO_VECTOR);
	/* a queue that does not exist */
	wr(e, VIRTIO_PCI_COMMON_Q_SELECT, 5, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	wr(e, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	/* once enabled, size and addresses are read-only */
	wr(e, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	wr(e, VIRTIO_PCI_COMMON_Q_DESCLO, 0x5000, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	wr(e, VIRTIO_PCI_COMMON_Q_DESCLO, 0x6000, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0x5000);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_SIZE, 2), 32);
	env_free(e);
}

/* A one-buffer rng request at descriptor 0. */
static void rng_request(struct env *e)
{
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 64, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 0);
}

TEST(virtio_pci_notify_via_ioeventfd_and_msix)
{
	struct env *e = env_new(false, true);
	unsigned cap = e->vp->pdev.msix_cap;
	uint64_t notify = e->bar + VIRTIO_PCI_NOTIFY_OFF;

	/* ioeventfd bound at the queue's notify address when the BAR was mapped */
	REQUIRE(e->fp.nr_ioev == 1);
	CHECK(e->fp.ioev[0].on);
	CHECK_EQ(e->fp.ioev[0].gpa, notify);
	CHECK_EQ(e->fp.ioev[0].len, 2);
	e->g.qsize = 16;
	REQUIRE(driver_init(e, read_features(e), 0));
	cfg_wr(e, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 0, 0xfee00000u, 4);
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 8, 0x31, 4);
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 0, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	/* the queue is enabled: the vector may still be changed */
	wr(e, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	rng_request(e);
	CHECK(fp_ioeventfd_hit(&e->fp, notify, 2)); /* what KVM does, no exit */
	CHECK_EQ(fp_run(&e->fp), 1);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(fg_used(&e->g, 0).len, 64);
	CHECK_EQ(e->fp.nr_msi, 1);
	CHECK_EQ(e->fp.msi[0].data, 0x31);
	/* the same through a plain MMIO write (no ioeventfd) */
	rng_request(e);
	wr(e, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	CHECK_EQ(fp_run(&e->fp), 1);
	CHECK_EQ(fg_used_idx(&e->g), 2);
	/* moving the BAR moves the ioeventfd */
	cfg_wr(e, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	CHECK(!e->fp.ioev[0].on);
	REQUIRE(e->fp.nr_ioev == 2);
	CHECK(e->fp.ioev[1].on);
	CHECK_EQ(e->fp.ioev[1].gpa, 0xd0000000u + VIRTIO_PCI_NOTIFY_OFF);
	env_free(e);
}

/* A fake KVM: one MSI route and irqfd bindings, recorded. */
static struct {
	int gsi; /* -1: no route */
	uint64_t addr;
	uint32_t data;
	int irqfd_fd, irqfd_gsi; /* -1: not bound */
	unsigned routes_made;
} kvm;

static int fk_msi_route(void *o, int gsi, uint64_t addr, uint32_t data)
{
	(void)o;
	if (gsi < 0) {
		gsi = 24 + (int)kvm.routes_made++;
	}
	kvm.gsi = gsi;
	kvm.addr = addr;
	kvm.data = data;
	return gsi;
}

static void fk_msi_route_del(void *o, int gsi)
{
	(void)o;
	if (gsi == kvm.gsi)
		kvm.gsi = -1;
}

static int fk_irqfd(void *o, int fd, int gsi, bool assign)
{
	(void)o;
	kvm.irqfd_fd = assign ? fd : -1;
	kvm.irqfd_gsi = assign ? gsi : -1;
	return 0;
}

static bool watched(struct env *e, int fd)
{
	for (unsigned i = 0; i < e->fp.nr_watch; i++)
		if (e->fp.watch[i].on && e->fp.watch[i].fd == fd)
			return true;
	return false;
}

TEST(virtio_pci_queue_irqfd_follows_msix)
{
	struct env *e = env_new(false, true);
	struct virtio_dev *vdev = e->vp->vdev;
	unsigned cap = e->vp->pdev.msix_cap, gsi = pci_slot_intx_gsi(SLOT);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t one = 1;

	kvm.gsi = kvm.irqfd_fd = kvm.irqfd_gsi = -1;
	kvm.routes_made = 0;
	e->fp.plat.msi_route = fk_msi_route;
	e->fp.plat.msi_route_del = fk_msi_route_del;
	e->fp.plat.irqfd = fk_irqfd;
	REQUIRE(efd >= 0);
	REQUIRE(driver_init(e, read_features(e), 0));
	wr(e, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	wr(e, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 0, 0xfee00000u, 4);
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 8, 0x31, 4);
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 0, 4);
	REQUIRE(vdev->transport.queue_irqfd);
	virtio_dev_lock(vdev);
	CHECK_EQ(vdev->transport.queue_irqfd(vdev->transport.opaque, vdev, 0, efd), 0);
	virtio_dev_unlock(vdev);
	/* MSI-X off: the event loop reads it and raises INTx with the ISR bit */
	CHECK(watched(e, efd));
	CHECK_EQ(kvm.irqfd_fd, -1);
	CHECK_EQ(write(efd, &one, sizeof(one)), 8);
	CHECK_EQ(fp_run(&e->fp), 1);
	CHECK_EQ(e->fp.intx[gsi], 1);
	CHECK_EQ(rd(e, VIRTIO_PCI_ISR_OFF, 1), 1);
	/* MSI-X on with the vector live: a KVM irqfd on a route with the vector's message */
	cfg_wr(e, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	CHECK_EQ(kvm.irqfd_fd, efd);
	CHECK_EQ(kvm.irqfd_gsi, kvm.gsi);
	CHECK_EQ(kvm.addr, 0xfee00000u);
	CHECK_EQ(kvm.data, 0x31);
	CHECK(!watched(e, efd));
	/* the driver retargets the vector: the same route follows */
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 8, 0x32, 4);
	CHECK_EQ(kvm.data, 0x32);
	CHECK_EQ(kvm.routes_made, 1);
	/* masked: no irqfd (KVM would ignore the mask); a signal becomes a pending bit */
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, PCI_MSIX_ENTRY_CTRL_MASKBIT, 4);
	CHECK_EQ(kvm.irqfd_fd, -1);
	CHECK(watched(e, efd));
	CHECK_EQ(write(efd, &one, sizeof(one)), 8);
	CHECK_EQ(fp_run(&e->fp), 1);
	CHECK_EQ(e->fp.nr_msi, 0);
	CHECK_EQ(rd(e, VIRTIO_PCI_MSIX_PBA_OFF, 4) & 2, 2);
	/* unmasked: delivered now, and the irqfd is back */
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 0, 4);
	CHECK_EQ(e->fp.nr_msi, 1);
	CHECK_EQ(e->fp.msi[0].data, 0x32);
	CHECK_EQ(kvm.irqfd_fd, efd);
	/* unbound: irqfd and route gone */
	virtio_dev_lock(vdev);
	CHECK_EQ(vdev->transport.queue_irqfd(vdev->transport.opaque, vdev, 0, -1), 0);
	virtio_dev_unlock(vdev);
	CHECK_EQ(kvm.irqfd_fd, -1);
	CHECK_EQ(kvm.gsi, -1);
	CHECK(!watched(e, efd));
	close(efd);
	env_free(e);
}

/* A rate limiter's "run this queue again in N ns": the transport's timer does it, once. */
TEST(virtio_pci_requeue_after_runs_the_queue_once_the_time_is_up)
{
	struct env *e = env_new(false, true);
	struct virtio_dev *vdev = e->vp->vdev;
	struct virtio_transport *t = &vdev->transport;
	uint64_t t0;

	REQUIRE(driver_init(e, read_features(e), 0));
	REQUIRE(t->requeue_after);
	rng_request(e); /* posted, never notified */
	t0 = monotonic_ns();
	CHECK(t->requeue_after(t->opaque, vdev, 0, 60000000000ull));
	CHECK(t->requeue_after(t->opaque, vdev, 0, 300000000ull)); /* the earlier wins */
	fp_run(&e->fp);
	/* (on a host so busy that 300 ms went by, the queue may have run already) */
	if (monotonic_ns() - t0 < 250000000ull)
		CHECK_EQ(fg_used_idx(&e->g), 0);
	while (monotonic_ns() - t0 < 310000000ull)
		usleep(10000);
	fp_run(&e->fp);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	/* nothing is due any more: the timer stays quiet */
	usleep(2000);
	CHECK_EQ(fp_run(&e->fp), 0);
	CHECK(!t->requeue_after(t->opaque, vdev, VIRTIO_MAX_QUEUES, 1));
	env_free(e);
}

TEST(virtio_pci_intx_and_isr)
{
	struct env *e = env_new(false, false);
	unsigned gsi = pci_slot_intx_gsi(SLOT);

	REQUIRE(driver_init(e, read_features(e), 0));
	rng_request(e);
	wr(e, VIRTIO_PCI_NOTIFY_OFF, 0, 2); /* no fd_watch: handled inline */
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(e->fp.intx[gsi], 1);
	CHECK_EQ(rd(e, VIRTIO_PCI_ISR_OFF, 1), 1);
	CHECK_EQ(e->fp.intx[gsi], 0);
	CHECK_EQ(rd(e, VIRTIO_PCI_ISR_OFF, 1), 0);
	env_free(e);
}

TEST(virtio_pci_needs_reset_on_bad_ring)
{
	struct env *e = env_new(false, false);
	unsigned gsi = pci_slot_intx_gsi(SLOT);

	REQUIRE(driver_init(e, read_features(e), 0));
	fg_avail(&e->g, 200);
	wr(e, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	CHECK(rd(e, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(e->fp.intx[gsi], 1);
	CHECK_EQ(rd(e, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	/* reset and start again: works */
	e->g.avail_idx = 0;
	memset(fg_ptr(&e->g, FAKE_AVAIL), 0, 0x1000);
	memset(fg_ptr(&e->g, FAKE_USED), 0, 0x1000);
	REQUIRE(driver_init(e, read_features(e), 0));
	CHECK(!(rd(e, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET));
	rng_request(e);
	wr(e, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	env_free(e);
}

TEST(virtio_pci_rings_outside_ram_need_reset)
{
	struct env *e = env_new(false, false);

	REQUIRE(driver_init(e, read_features(e), 0));
	wr(e, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	wr(e, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	write_features(e, read_features(e));
	wr(e, VIRTIO_PCI_COMMON_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK, 1);
	wr(e, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	wr(e, VIRTIO_PCI_COMMON_Q_DESCLO, 0, 4);
	wr(e, VIRTIO_PCI_COMMON_Q_DESCHI, 0x10, 4); /* far beyond RAM */
	wr(e, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	wr(e, VIRTIO_PCI_COMMON_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		   VIRTIO_CONFIG_S_DRIVER_OK,
	   1);
	wr(e, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	CHECK(rd(e, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	env_free(e);
}

TEST(virtio_pci_console_output_and_config)
{
	struct env *e = env_new(true, true);
	unsigned d = find_vcap(e, VIRTIO_PCI_CAP_DEVICE_CFG);
	uint64_t f = read_features(e);
	const uint8_t *out;
	size_t out_len;

	REQUIRE(d);
	CHECK_EQ(cfg_rd(e, d + VIRTIO_PCI_CAP_OFFSET, 4), VIRTIO_PCI_DEVICE_OFF);
	CHECK_EQ(rd(e, VIRTIO_PCI_DEVICE_OFF + 4, 4), 1); /* max_nr_ports */
	REQUIRE(driver_init(e, f, 1));
	memcpy(fg_ptr(&e->g, FAKE_BUF), "hello", 5);
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 5, 0, 0);
	fg_avail(&e->g, 0);
	CHECK(fp_ioeventfd_hit(&e->fp, e->bar + VIRTIO_PCI_NOTIFY_OFF + 4, 2));
	fp_run(&e->fp);
	out = chardev_buffer_output(e->cb, &out_len);
	CHECK_EQ(out_len, 5);
	CHECK(memcmp(out, "hello", 5) == 0);
	wr(e, VIRTIO_PCI_DEVICE_OFF + 8, '!', 4); /* emerg_wr */
	chardev_buffer_output(e->cb, &out_len);
	CHECK_EQ(out_len, 6);
	/* config reads past the end: all-ones, no crash */
	CHECK_EQ(rd(e, VIRTIO_PCI_DEVICE_OFF + 12, 4), 0xffffffffu);
	env_free(e);
}

TEST(virtio_pci_save_load)
{
	struct env *e = env_new(false, true), *f = env_new(false, true);
	struct state_writer w;
	struct state_reader r;
	struct state_section s;

	REQUIRE(driver_init(e, read_features(e), 0));
	rng_request(e);
	wr(e, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
	fp_run(&e->fp);
	state_writer_init(&w);
	virtio_pci_device_ops.save(e->vp, &w);
	REQUIRE(state_writer_error(&w) == 0);
	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &s) == 1);
	CHECK(strcmp(s.tag, "virtio-pci") == 0);
	CHECK_EQ(s.instance, SLOT);
	CHECK_EQ(virtio_pci_device_ops.load(f->vp, &s.payload), 0);
	CHECK_EQ(f->vp->vdev->vqs[0].last_avail_idx, 1);
	CHECK_EQ(f->vp->vdev->vqs[0].used_idx, 1);
	CHECK(virtio_dev_running(f->vp->vdev));
	CHECK_EQ(f->vp->vdev->vqs[0].desc_gpa, FAKE_DESC);
	/* truncated: refused */
	state_reader_init(&r, w.buf, w.len);
	state_next_section(&r, &s);
	s.payload.len -= 3;
	CHECK_EQ(virtio_pci_device_ops.load(f->vp, &s.payload), -EINVAL);
	state_writer_free(&w);
	env_free(e);
	env_free(f);
}

TEST(virtio_pci_load_commits_nothing_when_the_virtio_part_is_bad)
{
	struct env *e = env_new(false, true), *g = env_new(false, true);
	uint8_t before[PCI_CFG_SIZE];
	struct state_writer w;
	struct state_reader r;
	struct state_section s;

	REQUIRE(driver_init(e, read_features(e), 0));
	cfg_wr(e, PCI_INTERRUPT_LINE, 0x55, 1); /* a writable byte that differs from g's */
	state_writer_init(&w);
	virtio_pci_device_ops.save(e->vp, &w);
	REQUIRE(state_writer_error(&w) == 0);
	memcpy(before, g->vp->pdev.cfg, sizeof(before));
	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &s) == 1);
	s.payload.len -= 3; /* the PCI part is whole, the virtio part is cut short */
	CHECK_EQ(virtio_pci_device_ops.load(g->vp, &s.payload), -EINVAL);
	CHECK(memcmp(before, g->vp->pdev.cfg, sizeof(before)) == 0);
	CHECK(cfg_rd(g, PCI_INTERRUPT_LINE, 1) != 0x55);
	CHECK(!virtio_dev_running(g->vp->vdev));
	state_writer_free(&w);
	env_free(e);
	env_free(g);
}

TEST(virtio_pci_vm_reset)
{
	struct env *e = env_new(false, true);
	unsigned cap = e->vp->pdev.msix_cap;
	uint64_t v;

	REQUIRE(driver_init(e, read_features(e), 0));
	cfg_wr(e, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	wr(e, VIRTIO_PCI_MSIX_TABLE_OFF + 12, 0, 4); /* unmask vector 0 */
	virtio_pci_device_ops.reset(e->vp);
	CHECK_EQ(cfg_rd(e, PCI_COMMAND, 2), 0);
	CHECK(!bus_read(&e->mmio, e->bar + VIRTIO_PCI_COMMON_STATUS, &v, 1));
	CHECK(!(cfg_rd(e, cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE));
	CHECK(!e->fp.ioev[0].on);
	cfg_wr(e, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	CHECK_EQ(rd(e, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	CHECK_EQ(rd(e, VIRTIO_PCI_MSIX_TABLE_OFF + 12, 4), 1); /* masked again */
	CHECK(driver_init(e, read_features(e), 0));
	env_free(e);
}

TEST(virtio_pci_bus_destroyed_first)
{
	struct env *e = env_new(false, true);

	pci_bus_destroy(&e->pb);
	CHECK(e->vp->pdev.bus == NULL);
	CHECK(!e->fp.ioev[0].on); /* the ioeventfd went with the BAR */
	virtio_pci_destroy(e->vp);
	bus_destroy(&e->pio);
	bus_destroy(&e->mmio);
	fg_fini(&e->g);
	free(e);
}

static unsigned rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

TEST(virtio_pci_random_register_accesses)
{
	struct env *e = env_new(true, false);
	unsigned seed = 777;

	for (unsigned i = 0; i < 300000; i++) {
		unsigned r = rnd(&seed);
		uint64_t off = r % 8 < 5 ? rnd(&seed) % 0x40 : rnd(&seed) % VIRTIO_PCI_BAR_SIZE;
		unsigned size = 1u << (rnd(&seed) & 3);
		uint64_t v = (uint64_t)rnd(&seed) << 32 | rnd(&seed);

		if (r & 1)
			wr(e, off & ~(uint64_t)(size - 1), v, size);
		else
			(void)rd(e, off, size);
		if (i % 1000 == 0)
			cfg_wr(e, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	}
	CHECK_EQ(cfg_rd(e, PCI_VENDOR_ID, 2), 0x1af4);
	env_free(e);
}

struct stress {
	struct env *e;
	int stop; /* atomic */
};

static void *stress_vcpu(void *arg)
{
	struct stress *st = arg;
	unsigned seed = 99;

	while (!__atomic_load_n(&st->stop, __ATOMIC_RELAXED)) {
		unsigned r = rnd(&seed) % 16;

		if (r == 0)
			wr(st->e, VIRTIO_PCI_COMMON_STATUS, 0,
			   1); /* reset under the event loop's feet */
		else if (r < 3)
			driver_init(st->e, read_features(st->e), 0);
		else if (r < 6)
			rng_request(st->e);
		else if (r < 12)
			wr(st->e, VIRTIO_PCI_NOTIFY_OFF, 0, 2);
		else
			(void)rd(st->e, rnd(&seed) % 0x40, 4);
	}
	return NULL;
}

TEST(virtio_pci_vcpu_and_event_loop_threads)
{
	struct env *e = env_new(false, true);
	struct stress st = { e, 0 };
	pthread_t t;
	unsigned runs = 0;

	e->g.qsize = 16;
	REQUIRE(driver_init(e, read_features(e), 0));
	REQUIRE(pthread_create(&t, NULL, stress_vcpu, &st) == 0);
	for (unsigned i = 0; i < 200000; i++)
		runs += fp_run(&e->fp);
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	CHECK(runs > 0);
	CHECK_EQ(cfg_rd(e, PCI_VENDOR_ID, 2), 0x1af4);
	env_free(e);
}

/*
 * The device lock is not recursive: a thread that takes it twice stops vmon with a BUG line
 * (in a child process here) instead of running on with the state half-changed or deadlocking.
 */
TEST(virtio_dev_lock_taken_twice_stops_vmon)
{
	struct fake_guest g;
	struct virtio_dev *vdev;
	int status = 0;
	pid_t pid;

	fg_init(&g, NULL, 16);
	REQUIRE(virtio_rng_create(&vdev, &g.gm) == 0);
	virtio_dev_lock(vdev);
	virtio_dev_unlock(vdev); /* once is fine */
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		virtio_dev_lock(vdev);
		virtio_dev_lock(vdev);
		_exit(0); /* not reached */
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	vdev->ops->destroy(vdev);
	fg_fini(&g);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(virtio_dev_lock_taken_twice_stops_vmon)
	HARNESS_T(virtio_pci_ids_and_capabilities)
	HARNESS_T(virtio_pci_features_need_version_1)
	HARNESS_T(virtio_pci_reset_clears_queues)
	HARNESS_T(virtio_pci_queue_registers)
	HARNESS_T(virtio_pci_notify_via_ioeventfd_and_msix)
	HARNESS_T(virtio_pci_queue_irqfd_follows_msix)
	HARNESS_T(virtio_pci_requeue_after_runs_the_queue_once_the_time_is_up)
	HARNESS_T(virtio_pci_intx_and_isr)
	HARNESS_T(virtio_pci_needs_reset_on_bad_ring)
	HARNESS_T(virtio_pci_rings_outside_ram_need_reset)
	HARNESS_T(virtio_pci_console_output_and_config)
	HARNESS_T(virtio_pci_save_load)
	HARNESS_T(virtio_pci_load_commits_nothing_when_the_virtio_part_is_bad)
	HARNESS_T(virtio_pci_vm_reset)
	HARNESS_T(virtio_pci_bus_destroyed_first)
	HARNESS_T(virtio_pci_random_register_accesses)
	HARNESS_T(virtio_pci_vcpu_and_event_loop_threads)
)
// clang-format on
