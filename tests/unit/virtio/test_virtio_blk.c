/* test_virtio_blk.c — virtio-blk request parsing and I/O against a memory disk, hostile requests
 * included. */
#include <errno.h>
#include <stdlib.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "harness.h"
#include "virtio/virtio_blk.h"
#include "vq_fake.h"

#define DISK_BYTES (64 * 1024)
#define HDR (FAKE_BUF)
#define DATA (FAKE_BUF + 0x1000)
#define STATUS (FAKE_BUF + 0x8000)

struct env {
	struct fake_guest g;
	struct virtio_dev *vdev;
	uint8_t disk[DISK_BYTES];
	bool async; /* completions only when the test says (disk_complete_all), not after each kick
		     */
	unsigned settles;
	int plugged; /* plug depth */
	unsigned plugs, submits_plugged;
	struct virtio_blk_io *pending[64];
	int result[64]; /* of a pending I/O the backend settled (done[i]) */
	bool done[64];
	unsigned nr_pending;
	unsigned irqs, cfg_irqs;
	unsigned flushes, discards, zeroes;
	uint16_t next_head;
	unsigned requeues, timed; /* transport.requeue / requeue_after calls */
	uint64_t last_wait_ns;
};

static int disk_do(struct env *e, struct virtio_blk_io *io)
{
	size_t done = 0;

	if (io->offset_bytes + io->len_bytes > DISK_BYTES)
		return -EIO; /* the model must never ask this */
	switch (io->op) {
	case VIRTIO_BLK_OP_READ:
		for (unsigned i = 0; i < io->iovcnt; i++) {
			memcpy(io->iov[i].iov_base, e->disk + io->offset_bytes + done,
			       io->iov[i].iov_len);
			done += io->iov[i].iov_len;
		}
		return (int)done;
	case VIRTIO_BLK_OP_WRITE:
		for (unsigned i = 0; i < io->iovcnt; i++) {
			memcpy(e->disk + io->offset_bytes + done, io->iov[i].iov_base,
			       io->iov[i].iov_len);
			done += io->iov[i].iov_len;
		}
		return (int)done;
	case VIRTIO_BLK_OP_FLUSH:
		e->flushes++;
		return 0;
	case VIRTIO_BLK_OP_DISCARD:
		e->discards++;
		return 0;
	case VIRTIO_BLK_OP_WRITE_ZEROES:
		e->zeroes++;
		memset(e->disk + io->offset_bytes, 0, io->len_bytes);
		return 0;
	}
	return -EINVAL;
}

/* Every I/O waits for disk_complete_all(): a backend never completes inside submit (virtio_blk.h).
 */
static int disk_submit(void *o, struct virtio_blk_io *io)
{
	struct env *e = o;

	if (e->plugged > 0)
		e->submits_plugged++;
	if (e->nr_pending == 64)
		return -EIO;
	e->done[e->nr_pending] = false;
	e->pending[e->nr_pending++] = io;
	return 0;
}

/* The completions, as the event loop runs them: transfers not settled yet happen now. */
static void disk_complete_all(struct env *e)
{
	struct virtio_blk_io *batch[64];
	int result[64];
	unsigned n = e->nr_pending;

	/* completions may submit more (into e->pending): take the batch first */
	for (unsigned i = 0; i < n; i++) {
		batch[i] = e->pending[i];
		result[i] = e->done[i] ? e->result[i] : disk_do(e, e->pending[i]);
	}
	e->nr_pending = 0;
	for (unsigned i = 0; i < n; i++)
		batch[i]->complete(batch[i], result[i]);
}

/* virtio_blk_backend.settle: every transfer done now, no completion called. */
static void disk_settle(void *o)
{
	struct env *e = o;

	e->settles++;
	for (unsigned i = 0; i < e->nr_pending; i++)
		if (!e->done[i]) {
			e->result[i] = disk_do(e, e->pending[i]);
			e->done[i] = true;
		}
}

/* The driver's notification; a synchronous disk (not @async) then completes everything. */
static void kick(struct env *e)
{
	virtio_dev_kick(e->vdev, 0);
	while (!e->async && e->nr_pending)
		disk_complete_all(e);
}

static void disk_plug(void *o, bool on)
{
	struct env *e = o;

	e->plugged += on ? 1 : -1;
	e->plugs += on;
}

static void on_irq(void *o, struct virtio_dev *vdev, int q)
{
	(void)vdev;
	if (q == 0)
		((struct env *)o)->irqs++;
	else if (q < 0)
		((struct env *)o)->cfg_irqs++;
}

static bool on_requeue(void *o, struct virtio_dev *vdev, unsigned q)
{
	(void)vdev;
	(void)q;
	((struct env *)o)->requeues++;
	return true;
}

static bool on_requeue_after(void *o, struct virtio_dev *vdev, unsigned q, uint64_t ns)
{
	struct env *e = o;

	(void)vdev;
	if (q == 0) {
		e->timed++;
		e->last_wait_ns = ns;
	}
	return true;
}

/* A device on the fake disk; @settle: the disk can settle its I/O (a reset waits for it). */
static struct env *env_new_disk(bool ro, bool settle)
{
	struct env *e = calloc(1, sizeof(*e));
	struct virtio_blk_backend be = { .opaque = e,
					 .size_bytes = DISK_BYTES + 100,
					 .submit = disk_submit,
					 .settle = settle ? disk_settle : NULL,
					 .plug = disk_plug };
	struct virtq *vq;

	for (unsigned i = 0; i < DISK_BYTES; i++)
		e->disk[i] = (uint8_t)(i * 7 + i / 512);
	fg_init(&e->g, NULL, 16);
	if (virtio_blk_create(&e->vdev, &e->g.gm, &be, ro, "vmon-disk-0123456789abcdef"))
		abort();
	e->vdev->transport.interrupt = on_irq;
	e->vdev->transport.requeue = on_requeue;
	e->vdev->transport.requeue_after = on_requeue_after;
	e->vdev->transport.opaque = e;
	virtio_dev_set_status(e->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	e->vdev->driver_features = e->vdev->host_features;
	virtio_dev_set_status(e->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					       VIRTIO_CONFIG_S_FEATURES_OK);
	vq = &e->vdev->vqs[0];
	vq->size = 16;
	vq->desc_gpa = FAKE_DESC;
	vq->avail_gpa = FAKE_AVAIL;
	vq->used_gpa = FAKE_USED;
	vq->enabled = true;
	virtio_dev_set_status(e->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					       VIRTIO_CONFIG_S_FEATURES_OK |
					       VIRTIO_CONFIG_S_DRIVER_OK);
	return e;
}

static struct env *env_new(bool ro)
{
	return env_new_disk(ro, true);
}

static void env_free(struct env *e)
{
	e->vdev->ops->destroy(e->vdev);
	fg_fini(&e->g);
	free(e);
}

/* Build a header + data + status request at descriptors 0..2 and submit it. */
static void request(struct env *e, uint32_t type, uint64_t sector, uint32_t data_len,
		    bool data_writable)
{
	struct virtio_blk_outhdr *h = fg_ptr(&e->g, HDR);
	unsigned d = 0;

	h->type = type;
	h->ioprio = 0;
	h->sector = sector;
	*(uint8_t *)fg_ptr(&e->g, STATUS) = 0xee;
	fg_desc(&e->g, FAKE_DESC, d, HDR, 16, VRING_DESC_F_NEXT, (uint16_t)(d + 1));
	d++;
	if (data_len) {
		fg_desc(&e->g, FAKE_DESC, d, DATA, data_len,
			VRING_DESC_F_NEXT | (data_writable ? VRING_DESC_F_WRITE : 0),
			(uint16_t)(d + 1));
		d++;
	}
	fg_desc(&e->g, FAKE_DESC, d, STATUS, 1, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 0);
	kick(e);
}

static uint8_t status_of(struct env *e)
{
	return *(uint8_t *)fg_ptr(&e->g, STATUS);
}

TEST(blk_read_write_round_trip)
{
	struct env *e = env_new(false);
	uint8_t *data = fg_ptr(&e->g, DATA);

	request(e, VIRTIO_BLK_T_IN, 2, 1024, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(fg_used(&e->g, 0).len, 1025);
	CHECK(memcmp(data, e->disk + 1024, 1024) == 0);
	CHECK_EQ(e->irqs, 1);
	memset(data, 0x5a, 512);
	request(e, VIRTIO_BLK_T_OUT, 100, 512, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	CHECK_EQ(fg_used(&e->g, 1).len, 1);
	CHECK_EQ(e->disk[100 * 512], 0x5a);
	CHECK_EQ(e->disk[100 * 512 + 511], 0x5a);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 0);
	env_free(e);
}

TEST(blk_flush_get_id_discard_write_zeroes)
{
	struct env *e = env_new(false);
	struct virtio_blk_discard_write_zeroes *seg = fg_ptr(&e->g, DATA);

	request(e, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	CHECK_EQ(e->flushes, 1);
	request(e, VIRTIO_BLK_T_GET_ID, 0, 20, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	CHECK(memcmp(fg_ptr(&e->g, DATA), "vmon-disk-0123456789", 20) == 0);
	CHECK_EQ(fg_used(&e->g, 1).len, 21);
	seg->sector = 4;
	seg->num_sectors = 2;
	seg->flags = 0;
	request(e, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	CHECK_EQ(e->discards, 1);
	seg->flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	request(e, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	CHECK_EQ(e->disk[4 * 512 + 3], 0);
	/* unknown flag bits: UNSUPP */
	seg->flags = 0x80;
	request(e, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_UNSUPP);
	seg->flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	request(e, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_UNSUPP);
	/* discard range past the end */
	seg->flags = 0;
	seg->sector = DISK_BYTES / 512 - 1;
	seg->num_sectors = 2;
	request(e, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	/* two segments: more than max_discard_seg */
	request(e, VIRTIO_BLK_T_DISCARD, 0, 32, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	env_free(e);
}

TEST(blk_bad_type_is_unsupp)
{
	struct env *e = env_new(false);

	request(e, 0x1234, 0, 0, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_UNSUPP);
	request(e, VIRTIO_BLK_T_SCSI_CMD, 0, 512, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(fg_used_idx(&e->g), 2);
	env_free(e);
}

TEST(blk_sector_range_checked)
{
	struct env *e = env_new(false);
	unsigned last = DISK_BYTES / 512 - 1;

	request(e, VIRTIO_BLK_T_IN, last, 512, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	request(e, VIRTIO_BLK_T_IN, last, 1024, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	request(e, VIRTIO_BLK_T_IN, last + 1, 512, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	/* sector * 512 overflows */
	request(e, VIRTIO_BLK_T_IN, 0x0080000000000000ull, 512, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	request(e, VIRTIO_BLK_T_OUT, UINT64_MAX, 512, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	/* not a multiple of 512 */
	request(e, VIRTIO_BLK_T_IN, 0, 100, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	env_free(e);
}

TEST(blk_read_only_disk)
{
	struct env *e = env_new(true);
	struct virtio_blk_discard_write_zeroes *seg = fg_ptr(&e->g, DATA);
	uint8_t before = e->disk[0];

	CHECK(e->vdev->host_features & (1ull << VIRTIO_BLK_F_RO));
	CHECK(!(e->vdev->host_features & (1ull << VIRTIO_BLK_F_DISCARD)));
	memset(fg_ptr(&e->g, DATA), 0x11, 512);
	request(e, VIRTIO_BLK_T_OUT, 0, 512, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(e->disk[0], before);
	seg->sector = 0;
	seg->num_sectors = 1;
	request(e, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_UNSUPP); /* not negotiated */
	request(e, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	env_free(e);
}

TEST(blk_short_header)
{
	struct env *e = env_new(false);

	fg_desc(&e->g, FAKE_DESC, 0, HDR, 8, VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, FAKE_DESC, 1, STATUS, 1, VRING_DESC_F_WRITE, 0);
	*(uint8_t *)fg_ptr(&e->g, STATUS) = 0xee;
	fg_avail(&e->g, 0);
	kick(e);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	/* header split over two descriptors is fine */
	((struct virtio_blk_outhdr *)fg_ptr(&e->g, HDR))->type = VIRTIO_BLK_T_FLUSH;
	fg_desc(&e->g, FAKE_DESC, 0, HDR, 8, VRING_DESC_F_NEXT, 2);
	fg_desc(&e->g, FAKE_DESC, 2, HDR + 8, 8, VRING_DESC_F_NEXT, 1);
	fg_avail(&e->g, 0);
	kick(e);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	env_free(e);
}

TEST(blk_status_in_read_only_descriptor)
{
	struct env *e = env_new(false);

	((struct virtio_blk_outhdr *)fg_ptr(&e->g, HDR))->type = VIRTIO_BLK_T_IN;
	fg_desc(&e->g, FAKE_DESC, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, FAKE_DESC, 1, STATUS, 1, 0, 0);
	*(uint8_t *)fg_ptr(&e->g, STATUS) = 0xee;
	fg_avail(&e->g, 0);
	kick(e);
	CHECK_EQ(status_of(e), 0xee); /* never written */
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(fg_used(&e->g, 0).len, 0);
	/* the device keeps working */
	request(e, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	env_free(e);
}

TEST(blk_async_completion_and_reset)
{
	struct env *e = env_new_disk(false, false); /* the reset cannot wait: device_status tells */

	e->async = true;
	request(e, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(fg_used_idx(&e->g), 0);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 1);
	disk_complete_all(e);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	/* a reset while I/O is in flight: the late completion must not touch the rings */
	request(e, VIRTIO_BLK_T_IN, 0, 512, true);
	virtio_dev_lock(e->vdev);
	virtio_dev_set_status(e->vdev, 0);
	virtio_dev_unlock(e->vdev);
	CHECK_EQ(e->vdev->vqs[0].enabled, 0);
	/* §2.4.2: the driver polls device_status for 0; it stays non-zero while the read is in
	 * flight */
	CHECK(virtio_dev_status_read(e->vdev) != 0);
	disk_complete_all(e);
	CHECK_EQ(virtio_dev_status_read(e->vdev), 0);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(status_of(e), 0xee);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 0);
	env_free(e);
}

/*
 * A reset (the driver's status write, or the VM's reset through the transport) with a read in
 * flight waits for the backend: once it returns, the guest may reuse its buffers and nothing the
 * device started before writes into them, nor into the rings.
 */
static void check_reset_drains(bool vm_reset)
{
	struct env *e = env_new(false);
	uint8_t *data = fg_ptr(&e->g, DATA);

	e->async = true;
	request(e, VIRTIO_BLK_T_IN, 8, 2048, true);
	request(e, VIRTIO_BLK_T_IN, 16, 1024, true); /* same buffers: two reads in flight */
	CHECK_EQ(virtio_blk_inflight(e->vdev), 2);
	virtio_dev_lock(e->vdev);
	if (vm_reset)
		virtio_dev_reset(e->vdev);
	else
		virtio_dev_set_status(e->vdev, 0);
	virtio_dev_unlock(e->vdev);
	CHECK_EQ(e->settles, 1);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 0);
	CHECK_EQ(e->nr_pending,
		 2); /* settled: the transfers are done, the completions still to come */
	CHECK_EQ(virtio_dev_status_read(e->vdev), 0);
	/* the driver reuses its buffers after the reset */
	memset(data, 0x3c, 2048);
	*(uint8_t *)fg_ptr(&e->g, STATUS) = 0xee;
	disk_complete_all(e); /* whatever the backend still held would land now */
	CHECK_EQ(data[0], 0x3c);
	CHECK_EQ(data[2047], 0x3c);
	CHECK_EQ(status_of(e), 0xee);
	CHECK_EQ(fg_used_idx(&e->g), 0);
	CHECK_EQ(e->irqs, 0);
	env_free(e);
}

TEST(blk_driver_reset_drains_reads_in_flight)
{
	check_reset_drains(false);
}

TEST(blk_vm_reset_drains_reads_in_flight)
{
	check_reset_drains(true);
}

/* All requests made available before one notification reach the backend inside one plug. */
TEST(blk_one_notification_submits_plugged)
{
	struct env *e = env_new(false);

	e->async = true;
	for (uint16_t i = 0; i < 3; i++) {
		fg_desc(&e->g, FAKE_DESC, (uint16_t)(3 * i), HDR, 16, VRING_DESC_F_NEXT,
			(uint16_t)(3 * i + 1));
		fg_desc(&e->g, FAKE_DESC, (uint16_t)(3 * i + 1), DATA, 512,
			VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, (uint16_t)(3 * i + 2));
		fg_desc(&e->g, FAKE_DESC, (uint16_t)(3 * i + 2), STATUS, 1, VRING_DESC_F_WRITE, 0);
		fg_avail(&e->g, (uint16_t)(3 * i));
	}
	((struct virtio_blk_outhdr *)fg_ptr(&e->g, HDR))->type = VIRTIO_BLK_T_IN;
	kick(e);
	CHECK_EQ(e->nr_pending, 3);
	CHECK_EQ(e->submits_plugged, 3);
	CHECK_EQ(e->plugs, 1);
	CHECK_EQ(e->plugged, 0);
	disk_complete_all(e);
	CHECK_EQ(fg_used_idx(&e->g), 3);
	env_free(e);
}

/* Request @i of a batch: its own header (type, sector), @len bytes of data and status byte. */
static void batch_req(struct env *e, uint16_t i, uint32_t type, uint64_t sector, uint32_t len)
{
	uint64_t hdr = HDR + 0x100 + 16 * i, data = DATA + 0x1000 + 0x400 * i,
		 status = STATUS + 0x10 + i;
	struct virtio_blk_outhdr *h = fg_ptr(&e->g, hdr);
	uint16_t d = (uint16_t)(3 * i), flags = type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0;

	h->type = type;
	h->sector = sector;
	*(uint8_t *)fg_ptr(&e->g, status) = 0xee;
	if (len) {
		fg_desc(&e->g, FAKE_DESC, d, hdr, 16, VRING_DESC_F_NEXT, (uint16_t)(d + 1));
		fg_desc(&e->g, FAKE_DESC, d + 1u, data, len, VRING_DESC_F_NEXT | flags,
			(uint16_t)(d + 2));
	} else {
		fg_desc(&e->g, FAKE_DESC, d, hdr, 16, VRING_DESC_F_NEXT, (uint16_t)(d + 2));
	}
	fg_desc(&e->g, FAKE_DESC, d + 2u, status, 1, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, d);
}

static uint8_t batch_status(struct env *e, uint16_t i)
{
	return *(uint8_t *)fg_ptr(&e->g, STATUS + 0x10 + i);
}

/*
 * Reads (or writes) of one notification that continue each other on the disk reach the backend
 * as one I/O and complete together, in ring order; a FLUSH or a gap starts a new one, and the
 * writes before a FLUSH are submitted before it.
 */
TEST(blk_sequential_requests_merge)
{
	struct env *e = env_new(false);

	e->async = true;
	e->vdev->vqs[0].size = 32; /* room for 8 chains of 3 descriptors */
	e->g.qsize = 32;
	batch_req(e, 0, VIRTIO_BLK_T_IN, 4, 1024);
	batch_req(e, 1, VIRTIO_BLK_T_IN, 6, 512);
	batch_req(e, 2, VIRTIO_BLK_T_IN, 7, 1024);
	batch_req(e, 3, VIRTIO_BLK_T_IN, 20, 512); /* a gap */
	batch_req(e, 4, VIRTIO_BLK_T_OUT, 21, 512); /* other op */
	batch_req(e, 5, VIRTIO_BLK_T_OUT, 22, 512);
	batch_req(e, 6, VIRTIO_BLK_T_FLUSH, 0, 0);
	batch_req(e, 7, VIRTIO_BLK_T_OUT, 23, 512); /* after the flush: not merged across it */
	kick(e);
	REQUIRE(e->nr_pending == 5);
	CHECK_EQ(e->pending[0]->op, VIRTIO_BLK_OP_READ);
	CHECK_EQ(e->pending[0]->offset_bytes, 4 * 512);
	CHECK_EQ(e->pending[0]->len_bytes, 2560);
	CHECK_EQ(e->pending[0]->iovcnt, 3);
	CHECK_EQ(e->pending[1]->offset_bytes, 20 * 512);
	CHECK_EQ(e->pending[2]->op, VIRTIO_BLK_OP_WRITE);
	CHECK_EQ(e->pending[2]->len_bytes, 1024);
	CHECK_EQ(e->pending[3]->op, VIRTIO_BLK_OP_FLUSH);
	CHECK_EQ(e->pending[4]->offset_bytes, 23 * 512);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 8);
	disk_complete_all(e);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 0);
	CHECK_EQ(fg_used_idx(&e->g), 8);
	for (uint16_t i = 0; i < 8; i++) {
		CHECK_EQ(batch_status(e, i), VIRTIO_BLK_S_OK);
		CHECK_EQ(fg_used(&e->g, i).id, 3u * i); /* ring order */
	}
	CHECK(memcmp(fg_ptr(&e->g, DATA + 0x1000), e->disk + 4 * 512, 1024) == 0);
	CHECK(memcmp(fg_ptr(&e->g, DATA + 0x1400), e->disk + 6 * 512, 512) == 0);
	CHECK(memcmp(fg_ptr(&e->g, DATA + 0x1800), e->disk + 7 * 512, 1024) == 0);
	CHECK_EQ(fg_used(&e->g, 1).len, 513);
	env_free(e);
}

/* A merged I/O that fails fails every request in it. */
TEST(blk_merged_failure_fails_each_request)
{
	struct env *e = env_new(false);

	e->async = true;
	batch_req(e, 0, VIRTIO_BLK_T_IN, 0, 512);
	batch_req(e, 1, VIRTIO_BLK_T_IN, 1, 512);
	kick(e);
	REQUIRE(e->nr_pending == 1);
	e->nr_pending = 0;
	e->pending[0]->complete(e->pending[0], -EIO);
	CHECK_EQ(batch_status(e, 0), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(batch_status(e, 1), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(fg_used_idx(&e->g), 2);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 0);
	env_free(e);
}

TEST(blk_inflight_capped_at_queue_size)
{
	struct env *e = env_new(false);

	e->async = true;
	/* the same head made available 16 times, then 16 more: at most 16 in flight */
	((struct virtio_blk_outhdr *)fg_ptr(&e->g, HDR))->type = VIRTIO_BLK_T_FLUSH;
	fg_desc(&e->g, FAKE_DESC, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, FAKE_DESC, 1, STATUS, 1, VRING_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < 16; i++)
		fg_avail(&e->g, 0);
	kick(e);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 16);
	for (unsigned i = 0; i < 16; i++)
		fg_avail(&e->g, 0);
	kick(e);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 16);
	CHECK_EQ(e->nr_pending, 16);
	/* completing one lets one more in */
	{
		struct virtio_blk_io *io = e->pending[0];

		memmove(e->pending, e->pending + 1, 15 * sizeof(e->pending[0]));
		e->nr_pending = 15;
		io->complete(io, 0);
	}
	CHECK_EQ(virtio_blk_inflight(e->vdev), 16);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	while (e->nr_pending)
		disk_complete_all(e);
	CHECK_EQ(fg_used_idx(&e->g), 32);
	CHECK_EQ(virtio_blk_inflight(e->vdev), 0);
	env_free(e);
}

TEST(blk_malformed_ring_sets_needs_reset)
{
	struct env *e = env_new(false);

	fg_avail(&e->g, 99); /* head beyond the queue */
	kick(e);
	CHECK(e->vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(!virtio_dev_running(e->vdev));
	virtio_dev_set_status(e->vdev, 0);
	CHECK_EQ(e->vdev->status, 0);
	CHECK(!e->vdev->vqs[0].broken);
	env_free(e);
}

TEST(blk_config_space)
{
	struct env *e = env_new(false);
	struct virtio_blk_config cfg;

	e->vdev->ops->config_read(e->vdev, 0, &cfg, sizeof(cfg));
	CHECK_EQ(cfg.capacity, DISK_BYTES / 512);
	CHECK_EQ(cfg.blk_size, 512);
	CHECK_EQ(cfg.seg_max, VIRTIO_BLK_SEG_MAX);
	CHECK_EQ(cfg.size_max, VIRTIO_BLK_SIZE_MAX);
	CHECK_EQ(cfg.max_discard_seg, 1);
	env_free(e);
}

/* PATCH /drives path_on_host on a running VM: a media change. */
TEST(blk_replace_waits_for_the_old_disk_then_serves_the_new_one)
{
	struct env *e = env_new(false), *f = env_new(false);
	struct virtio_blk_backend be = { .opaque = f, /* a disk that cannot settle */
					 .size_bytes = DISK_BYTES / 2,
					 .submit = disk_submit };
	struct virtio_blk_config cfg;
	uint8_t gen = e->vdev->config_generation;

	memset(f->disk, 0x5a, sizeof(f->disk));
	e->async = true;
	request(e, VIRTIO_BLK_T_IN, 0, 512, true); /* in flight on the old disk */
	REQUIRE(virtio_blk_inflight(e->vdev) == 1);
	CHECK_EQ(virtio_blk_replace(e->vdev, &be), 0);
	CHECK_EQ(e->settles, 1);
	CHECK_EQ(((uint8_t *)fg_ptr(&e->g, DATA))[1], e->disk[1]); /* its transfer is done */
	CHECK_EQ(fg_used_idx(&e->g), 0);
	disk_complete_all(e); /* its completion: when the caller closes the old disk */
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	/* the new capacity, announced by a configuration change */
	e->vdev->ops->config_read(e->vdev, 0, &cfg, sizeof(cfg));
	CHECK_EQ(cfg.capacity, DISK_BYTES / 2 / 512);
	CHECK_EQ(virtio_blk_capacity(e->vdev), DISK_BYTES / 2 / 512);
	CHECK_EQ(e->cfg_irqs, 1);
	CHECK_EQ(e->vdev->config_generation, (uint8_t)(gen + 1));
	/* reads come from the new disk; past its end is an error */
	request(e, VIRTIO_BLK_T_IN, 0, 512, true);
	disk_complete_all(f);
	CHECK_EQ(fg_used_idx(&e->g), 2);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	CHECK_EQ(((uint8_t *)fg_ptr(&e->g, DATA))[1], 0x5a);
	request(e, VIRTIO_BLK_T_IN, DISK_BYTES / 2 / 512, 512, true);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_IOERR);
	/* a backend that cannot settle: refused while it holds a request, nothing changed */
	request(e, VIRTIO_BLK_T_IN, 0, 512, true);
	be.opaque = e;
	be.size_bytes = DISK_BYTES;
	be.settle = disk_settle;
	CHECK_EQ(virtio_blk_replace(e->vdev, &be), -EBUSY);
	CHECK_EQ(virtio_blk_capacity(e->vdev), DISK_BYTES / 2 / 512);
	CHECK_EQ(e->cfg_irqs, 1);
	disk_complete_all(f);
	CHECK_EQ(fg_used_idx(&e->g), 4);
	CHECK_EQ(virtio_blk_replace(e->vdev, NULL), -EINVAL);
	env_free(e);
	env_free(f);
}

/* Firecracker's drive rate_limiter: an ops bucket of one request per 10 s. */
TEST(blk_rate_limiter_holds_requests_back_until_the_bucket_refills)
{
	struct env *e = env_new(false);
	struct rate_limit_config ops = { .ops = { .size = 1, .refill_time_ms = 10000 } };

	virtio_blk_set_rate_limit(e->vdev, &ops);
	request(e, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(e->timed, 0);
	/* the second waits on the ring, the transport is asked to run the queue in ~10 s */
	request(e, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(status_of(e), 0xee);
	CHECK_EQ(e->timed, 1);
	CHECK(e->last_wait_ns > 9000000000ull && e->last_wait_ns <= 10000000000ull);
	CHECK_EQ(virtio_blk_limited(e->vdev), 1);
	/* a kick while it waits changes nothing (and takes nothing from the bucket) */
	kick(e);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(virtio_blk_limited(e->vdev), 2);
	/* lifting the limit runs the queue again: the request completes */
	virtio_blk_set_rate_limit(e->vdev, &(struct rate_limit_config){ 0 });
	CHECK_EQ(e->requeues, 2); /* one per set_rate_limit */
	kick(e);
	CHECK_EQ(fg_used_idx(&e->g), 2);
	CHECK_EQ(status_of(e), VIRTIO_BLK_S_OK);
	env_free(e);
}

/* The bandwidth bucket counts the data bytes of reads and writes; a flush costs none. */
TEST(blk_rate_limiter_charges_data_bytes)
{
	struct env *e = env_new(false);
	struct rate_limit_config bw = { .bandwidth = { .size = 2048, .refill_time_ms = 10000 } };

	virtio_blk_set_rate_limit(e->vdev, &bw);
	request(e, VIRTIO_BLK_T_IN, 0, 1024, true);
	request(e, VIRTIO_BLK_T_OUT, 4, 1024, false);
	request(e, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	CHECK_EQ(fg_used_idx(&e->g), 3);
	request(e, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(fg_used_idx(&e->g), 3);
	/* 512 bytes at 2048 per 10 s: 2.5 s */
	CHECK(e->last_wait_ns > 2400000000ull && e->last_wait_ns <= 2500000000ull);
	env_free(e);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(blk_read_write_round_trip)
	HARNESS_T(blk_flush_get_id_discard_write_zeroes)
	HARNESS_T(blk_bad_type_is_unsupp)
	HARNESS_T(blk_sector_range_checked)
	HARNESS_T(blk_read_only_disk)
	HARNESS_T(blk_short_header)
	HARNESS_T(blk_status_in_read_only_descriptor)
	HARNESS_T(blk_async_completion_and_reset)
	HARNESS_T(blk_driver_reset_drains_reads_in_flight)
	HARNESS_T(blk_vm_reset_drains_reads_in_flight)
	HARNESS_T(blk_one_notification_submits_plugged)
	HARNESS_T(blk_sequential_requests_merge)
	HARNESS_T(blk_merged_failure_fails_each_request)
	HARNESS_T(blk_inflight_capped_at_queue_size)
	HARNESS_T(blk_malformed_ring_sets_needs_reset)
	HARNESS_T(blk_config_space)
	HARNESS_T(blk_replace_waits_for_the_old_disk_then_serves_the_new_one)
	HARNESS_T(blk_rate_limiter_holds_requests_back_until_the_bucket_refills)
	HARNESS_T(blk_rate_limiter_charges_data_bytes)
)
// clang-format on
