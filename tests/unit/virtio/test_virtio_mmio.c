/* test_virtio_mmio.c — the virtio-mmio transport driven like Linux's virtio_mmio driver. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "backends/chardev_buffer.h"
#include "bus/bus.h"
#include "fake_platform.h"
#include "harness.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_rng.h"
#include "vq_fake.h"

#define BASE 0xf0000000ull
#define GSI 17

struct env {
	struct bus mmio;
	struct fake_platform fp;
	struct fake_guest g;
	struct virtio_mmio *vm;
	struct chardev_buffer *cb;
};

static uint64_t rd(struct env *e, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	bus_read(&e->mmio, BASE + off, &v, size);
	return v;
}

static void wr(struct env *e, uint64_t off, uint64_t v, unsigned size)
{
	bus_write(&e->mmio, BASE + off, &v, size);
}

static uint32_t rd32(struct env *e, uint64_t off)
{
	return (uint32_t)rd(e, off, 4);
}

static void wr32(struct env *e, uint64_t off, uint32_t v)
{
	wr(e, off, v, 4);
}

static struct env *env_new(bool console, bool with_watch)
{
	struct env *e = calloc(1, sizeof(*e));
	struct virtio_dev *vdev;

	fp_init(&e->fp);
	if (!with_watch)
		e->fp.plat.fd_watch = NULL;
	bus_init(&e->mmio, "mmio");
	fg_init(&e->g, NULL, 16);
	if (console) {
		e->cb = chardev_buffer_create(1024, 1024);
		if (virtio_console_create(&vdev, &e->g.gm, chardev_buffer_chardev(e->cb)))
			abort();
	} else if (virtio_rng_create(&vdev, &e->g.gm)) {
		abort();
	}
	if (virtio_mmio_create(&e->vm, &e->mmio, &e->fp.plat, 0, BASE, GSI, vdev))
		abort();
	return e;
}

static void env_free(struct env *e)
{
	virtio_mmio_destroy(e->vm);
	bus_destroy(&e->mmio);
	fg_fini(&e->g);
	if (e->cb)
		chardev_destroy(chardev_buffer_chardev(e->cb));
	free(e);
}

static uint64_t read_features(struct env *e)
{
	uint64_t f;

	wr32(e, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd32(e, VIRTIO_MMIO_DEVICE_FEATURES);
	wr32(e, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)rd32(e, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static void write_features(struct env *e, uint64_t f)
{
	wr32(e, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr32(e, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr32(e, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr32(e, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

#define S_AD (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)

static void queue_setup(struct env *e, unsigned q)
{
	wr32(e, VIRTIO_MMIO_QUEUE_SEL, q);
	wr32(e, VIRTIO_MMIO_QUEUE_NUM, 16);
	wr32(e, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)FAKE_DESC);
	wr32(e, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr32(e, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)FAKE_AVAIL);
	wr32(e, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr32(e, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)FAKE_USED);
	wr32(e, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr32(e, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* virtio_mmio.c's probe and §3.1.1 initialisation, queue @q at the fake rings. */
static bool driver_init(struct env *e, uint64_t features, unsigned q)
{
	wr32(e, VIRTIO_MMIO_STATUS, 0);
	wr32(e, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr32(e, VIRTIO_MMIO_STATUS, S_AD);
	write_features(e, features);
	wr32(e, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(rd32(e, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	queue_setup(e, q);
	wr32(e, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	return rd32(e, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK;
}

static void rng_request(struct env *e)
{
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 64, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 0);
}

TEST(virtio_mmio_identity_registers)
{
	struct env *e = env_new(false, true);

	CHECK_EQ(rd32(e, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976u);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	CHECK(read_features(e) >> VIRTIO_F_VERSION_1 & 1);
	/* feature words past the second read 0 */
	wr32(e, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* no shared memory regions: all-ones length and base */
	wr32(e, VIRTIO_MMIO_SHM_SEL, 0);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffffu);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_SHM_BASE_LOW), 0xffffffffu);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_SHM_BASE_HIGH), 0xffffffffu);
	CHECK_EQ(rd32(e, 0x0c0), 0); /* QueueReset: no VIRTIO_F_RING_RESET */
	/* the window is 4 KiB: the next byte is not the device's */
	CHECK_EQ(rd(e, VIRTIO_MMIO_WINDOW, 4), 0xffffffffu);
	env_free(e);
}

TEST(virtio_mmio_control_registers_are_32_bit_only)
{
	struct env *e = env_new(false, true);

	CHECK_EQ(rd(e, VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	CHECK_EQ(rd(e, VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	CHECK_EQ(rd(e, VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
	CHECK_EQ(rd(e, VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	/* a 1-byte status write does nothing */
	wr(e, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_STATUS), 0);
	wr(e, VIRTIO_MMIO_QUEUE_SEL, 0, 2);
	wr32(e, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(e, VIRTIO_MMIO_QUEUE_NUM, 8, 2);
	CHECK_EQ(e->vm->vdev->vqs[0].size, e->vm->vdev->vqs[0].max_size);
	/* read-only registers ignore writes */
	wr32(e, VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr32(e, VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976u);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	env_free(e);
}

TEST(virtio_mmio_features_need_version_1_and_freeze_at_features_ok)
{
	struct env *e = env_new(false, true);
	uint64_t f = read_features(e);

	CHECK(!driver_init(e, f & ~(1ull << VIRTIO_F_VERSION_1), 0));
	REQUIRE(driver_init(e, f, 0));
	/* after FEATURES_OK the accepted features are final */
	write_features(e, 0);
	CHECK_EQ(e->vm->vdev->driver_features, f);
	env_free(e);
}

TEST(virtio_mmio_queue_registers)
{
	struct env *e = env_new(false, true);
	struct virtq *vq = &e->vm->vdev->vqs[0];

	wr32(e, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK(rd32(e, VIRTIO_MMIO_QUEUE_NUM_MAX) >= 16);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_QUEUE_READY), 0);
	/* a queue the device lacks: QueueNumMax 0, its registers ignored */
	wr32(e, VIRTIO_MMIO_QUEUE_SEL, 7);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr32(e, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_QUEUE_READY), 0);
	wr32(e, VIRTIO_MMIO_QUEUE_SEL, 0);
	/* sizes: a power of two no larger than the maximum */
	wr32(e, VIRTIO_MMIO_QUEUE_NUM, 12);
	CHECK(vq->size != 12);
	wr32(e, VIRTIO_MMIO_QUEUE_NUM, 0);
	CHECK(vq->size != 0);
	wr32(e, VIRTIO_MMIO_QUEUE_NUM, (uint32_t)vq->max_size * 2);
	CHECK(vq->size <= vq->max_size);
	wr32(e, VIRTIO_MMIO_QUEUE_NUM, 16);
	CHECK_EQ(vq->size, 16);
	wr32(e, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	wr32(e, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x2);
	CHECK_EQ(vq->desc_gpa, 0x200001000ull);
	wr32(e, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x3000);
	wr32(e, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x5);
	CHECK_EQ(vq->avail_gpa, 0x3000);
	CHECK_EQ(vq->used_gpa, 0x500000000ull);
	/* once ready, the queue's addresses and size are frozen */
	wr32(e, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_QUEUE_READY), 1);
	wr32(e, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x7000);
	wr32(e, VIRTIO_MMIO_QUEUE_NUM, 8);
	CHECK_EQ(vq->desc_gpa, 0x200001000ull);
	CHECK_EQ(vq->size, 16);
	/* before DRIVER_OK the driver may take it back (teardown), after it not */
	wr32(e, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_QUEUE_READY), 0);
	e->g.qsize = 16;
	REQUIRE(driver_init(e, read_features(e), 0));
	wr32(e, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_QUEUE_READY), 1);
	/* a reset makes every queue not ready */
	wr32(e, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_STATUS), 0);
	env_free(e);
}

TEST(virtio_mmio_notify_via_ioeventfd_with_datamatch)
{
	struct env *e = env_new(false, true);
	uint64_t notify = BASE + VIRTIO_MMIO_QUEUE_NOTIFY;

	/* bound at creation: QueueNotify, 4 bytes, the queue index as the value */
	REQUIRE(e->fp.nr_ioev == 1);
	CHECK(e->fp.ioev[0].on);
	CHECK_EQ(e->fp.ioev[0].gpa, notify);
	CHECK_EQ(e->fp.ioev[0].len, 4);
	CHECK_EQ(e->fp.ioev[0].match, 0);
	e->g.qsize = 16;
	REQUIRE(driver_init(e, read_features(e), 0));
	rng_request(e);
	CHECK(!fp_ioeventfd_hit_value(&e->fp, notify, 4, 1)); /* queue 1: no such fd */
	CHECK(fp_ioeventfd_hit_value(&e->fp, notify, 4, 0));
	CHECK_EQ(fp_run(&e->fp), 1);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(fg_used(&e->g, 0).len, 64);
	CHECK_EQ(e->fp.intx[GSI], 1);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	/* the same through a plain register write (no ioeventfd caught it) */
	rng_request(e);
	wr32(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(fp_run(&e->fp), 1);
	CHECK_EQ(fg_used_idx(&e->g), 2);
	/* a notify for a queue the device lacks is ignored */
	wr32(e, VIRTIO_MMIO_QUEUE_NOTIFY, 5);
	wr32(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
	CHECK_EQ(fp_run(&e->fp), 0);
	env_free(e);
	/* destroy unbinds it */
}

TEST(virtio_mmio_interrupt_is_level_until_acknowledged)
{
	struct env *e = env_new(false, false);

	REQUIRE(driver_init(e, read_features(e), 0));
	CHECK_EQ(e->fp.intx[GSI], 0);
	rng_request(e);
	wr32(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* no fd_watch: handled inline */
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(e->fp.intx[GSI], 1);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	/* reading does not clear it (unlike PCI's ISR) */
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(e->fp.intx[GSI], 1);
	/* a configuration change while the used bit is pending: both bits, line stays up */
	virtio_dev_lock(e->vm->vdev);
	virtio_dev_config_changed(e->vm->vdev);
	virtio_dev_unlock(e->vm->vdev);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS), 3);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	CHECK_EQ(e->fp.intx_raises[GSI], 1); /* the second bit did not touch the raised line */
	/* acknowledging one bit keeps the line high for the other, with a fresh edge */
	wr32(e, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(e->fp.intx[GSI], 1);
	CHECK_EQ(e->fp.intx_raises[GSI], 2);
	wr32(e, VIRTIO_MMIO_INTERRUPT_ACK, 0xfffffffcu); /* bits that are not pending: nothing */
	CHECK_EQ(e->fp.intx[GSI], 1);
	wr32(e, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(e->fp.intx[GSI], 0);
	/* a reset lowers a pending line */
	virtio_dev_lock(e->vm->vdev);
	virtio_dev_config_changed(e->vm->vdev);
	virtio_dev_unlock(e->vm->vdev);
	CHECK_EQ(e->fp.intx[GSI], 1);
	wr32(e, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(e->fp.intx[GSI], 0);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	env_free(e);
}

TEST(virtio_mmio_bad_rings_need_reset)
{
	struct env *e = env_new(false, false);

	REQUIRE(driver_init(e, read_features(e), 0));
	fg_avail(&e->g, 200); /* an avail entry naming a descriptor past the queue */
	wr32(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(rd32(e, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
		 VIRTIO_MMIO_INT_CONFIG);
	/* rings beyond RAM: refused the same way, nothing read there */
	wr32(e, VIRTIO_MMIO_STATUS, 0);
	wr32(e, VIRTIO_MMIO_STATUS, S_AD);
	write_features(e, read_features(e));
	wr32(e, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	wr32(e, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr32(e, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x10);
	wr32(e, VIRTIO_MMIO_QUEUE_READY, 1);
	wr32(e, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	wr32(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(rd32(e, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* reset and start again: works */
	e->g.avail_idx = 0;
	memset(fg_ptr(&e->g, FAKE_AVAIL), 0, 0x1000);
	memset(fg_ptr(&e->g, FAKE_USED), 0, 0x1000);
	REQUIRE(driver_init(e, read_features(e), 0));
	rng_request(e);
	wr32(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	env_free(e);
}

TEST(virtio_mmio_device_config_any_width)
{
	struct env *e = env_new(true, true);
	const uint8_t *out;
	size_t out_len;

	CHECK_EQ(rd32(e, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	CHECK_EQ(rd(e, VIRTIO_MMIO_CONFIG_OFF + 4, 4), 1); /* max_nr_ports */
	CHECK_EQ(rd(e, VIRTIO_MMIO_CONFIG_OFF + 4, 1), 1);
	CHECK_EQ(rd(e, VIRTIO_MMIO_CONFIG_OFF + 5, 1), 0);
	/* past the configuration: 0, no crash */
	CHECK_EQ(rd(e, VIRTIO_MMIO_CONFIG_OFF + 12, 4), 0);
	CHECK_EQ(rd(e, VIRTIO_MMIO_WINDOW - 4, 4), 0);
	REQUIRE(driver_init(e, read_features(e), 1));
	memcpy(fg_ptr(&e->g, FAKE_BUF), "hello", 5);
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 5, 0, 0);
	fg_avail(&e->g, 0);
	CHECK(fp_ioeventfd_hit_value(&e->fp, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 4, 1));
	fp_run(&e->fp);
	out = chardev_buffer_output(e->cb, &out_len);
	REQUIRE(out_len == 5);
	CHECK(memcmp(out, "hello", 5) == 0);
	wr(e, VIRTIO_MMIO_CONFIG_OFF + 8, '!', 4); /* emerg_wr */
	chardev_buffer_output(e->cb, &out_len);
	CHECK_EQ(out_len, 6);
	env_free(e);
}

TEST(virtio_mmio_save_load)
{
	struct env *e = env_new(false, true), *f = env_new(false, true);
	struct state_writer w;
	struct state_reader r;
	struct state_section s;

	REQUIRE(driver_init(e, read_features(e), 0));
	rng_request(e);
	wr32(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	fp_run(&e->fp);
	REQUIRE(e->fp.intx[GSI] == 1);
	state_writer_init(&w);
	virtio_mmio_device_ops.save(e->vm, &w);
	REQUIRE(state_writer_error(&w) == 0);
	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &s) == 1);
	CHECK(strcmp(s.tag, "virtio-mmio") == 0);
	CHECK_EQ(s.instance, 0);
	CHECK_EQ(virtio_mmio_device_ops.load(f->vm, &s.payload), 0);
	CHECK_EQ(f->vm->vdev->vqs[0].last_avail_idx, 1);
	CHECK_EQ(f->vm->vdev->vqs[0].used_idx, 1);
	CHECK_EQ(f->vm->vdev->vqs[0].desc_gpa, FAKE_DESC);
	CHECK(virtio_dev_running(f->vm->vdev));
	/* the pending interrupt comes back with its line */
	CHECK_EQ(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS, 4), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(f->fp.intx[GSI], 1);
	/* truncated: refused */
	state_reader_init(&r, w.buf, w.len);
	state_next_section(&r, &s);
	s.payload.len -= 3;
	CHECK_EQ(virtio_mmio_device_ops.load(f->vm, &s.payload), -EINVAL);
	state_writer_free(&w);
	env_free(e);
	env_free(f);
}

TEST(virtio_mmio_load_refuses_another_device_or_address)
{
	struct env *e = env_new(false, true), *c = env_new(true, true);
	struct virtio_mmio *moved;
	struct virtio_dev *vdev;
	struct state_writer w;
	struct state_reader r;
	struct state_section s;

	state_writer_init(&w);
	virtio_mmio_device_ops.save(e->vm, &w);
	REQUIRE(state_writer_error(&w) == 0);
	/* an rng's state into a console */
	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &s) == 1);
	CHECK_EQ(virtio_mmio_device_ops.load(c->vm, &s.payload), -EINVAL);
	/* into an rng at another address */
	REQUIRE(virtio_rng_create(&vdev, &e->g.gm) == 0);
	REQUIRE(virtio_mmio_create(&moved, NULL, NULL, 0, BASE + 0x1000, GSI, vdev) == 0);
	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &s) == 1);
	CHECK_EQ(virtio_mmio_device_ops.load(moved, &s.payload), -EINVAL);
	virtio_mmio_destroy(moved);
	state_writer_free(&w);
	env_free(e);
	env_free(c);
}

TEST(virtio_mmio_vm_reset)
{
	struct env *e = env_new(false, true);

	REQUIRE(driver_init(e, read_features(e), 0));
	rng_request(e);
	wr32(e, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	fp_run(&e->fp);
	wr32(e, VIRTIO_MMIO_QUEUE_SEL, 3);
	virtio_mmio_device_ops.reset(e->vm);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(e->fp.intx[GSI], 0);
	CHECK_EQ(e->vm->queue_sel, 0);
	CHECK_EQ(rd32(e, VIRTIO_MMIO_QUEUE_READY), 0);
	env_free(e);
}

TEST(virtio_mmio_create_refuses_misaligned_or_overlapping_windows)
{
	struct env *e = env_new(false, true);
	struct virtio_mmio *other;
	struct virtio_dev *vdev;

	REQUIRE(virtio_rng_create(&vdev, &e->g.gm) == 0);
	CHECK_EQ(virtio_mmio_create(&other, &e->mmio, &e->fp.plat, 1, BASE + 0x800, GSI + 1, vdev),
		 -EINVAL);
	CHECK_EQ(virtio_mmio_create(&other, &e->mmio, &e->fp.plat, 1, BASE, GSI + 1, vdev),
		 -EEXIST);
	/* still the caller's, with no transport left behind */
	CHECK(vdev->transport.interrupt == NULL);
	vdev->ops->destroy(vdev);
	env_free(e);
}

static unsigned rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

TEST(virtio_mmio_random_register_accesses)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	struct env *e = env_new(true, true);
	unsigned seed = 7;

	for (unsigned i = 0; i < 200000; i++) {
		uint64_t off = rnd(&seed) % (VIRTIO_MMIO_WINDOW + 16);
		unsigned size = sizes[rnd(&seed) % 4];
		uint64_t v = (uint64_t)rnd(&seed) << 32 | rnd(&seed);

		if (i % 7 == 0) /* mostly well-formed control writes */
			off &= 0xfc, size = 4;
		if (rnd(&seed) % 2)
			wr(e, off, v % 4 == 0 ? rnd(&seed) % 24 : v, size);
		else
			rd(e, off, size);
		if (i % 64 == 0)
			fp_run(&e->fp);
	}
	CHECK_EQ(rd32(e, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976u);
	env_free(e);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(virtio_mmio_identity_registers)
	HARNESS_T(virtio_mmio_control_registers_are_32_bit_only)
	HARNESS_T(virtio_mmio_features_need_version_1_and_freeze_at_features_ok)
	HARNESS_T(virtio_mmio_queue_registers)
	HARNESS_T(virtio_mmio_notify_via_ioeventfd_with_datamatch)
	HARNESS_T(virtio_mmio_interrupt_is_level_until_acknowledged)
	HARNESS_T(virtio_mmio_bad_rings_need_reset)
	HARNESS_T(virtio_mmio_device_config_any_width)
	HARNESS_T(virtio_mmio_save_load)
	HARNESS_T(virtio_mmio_load_refuses_another_device_or_address)
	HARNESS_T(virtio_mmio_vm_reset)
	HARNESS_T(virtio_mmio_create_refuses_misaligned_or_overlapping_windows)
	HARNESS_T(virtio_mmio_random_register_accesses)
)
// clang-format on
