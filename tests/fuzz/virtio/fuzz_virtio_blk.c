/*
 * fuzz_virtio_blk.c — virtio-blk request parsing. Input: 2 bytes of
 * settings (read-only disk, async completions, reset, settle) then guest RAM holding a
 * 16-entry queue's rings, descriptors, headers and buffers. The memory
 * backend checks that every I/O the model asks for lies inside the disk.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#include <linux/virtio_config.h>

#include "mem/gmem.h"
#include "virtio/virtio_blk.h"

#define RAM_GPA 0x10000ull
#define RAM_LEN 0x10000ull
#define DISK_BYTES (16 * 4096)

static uint8_t ram[RAM_LEN] __attribute__((aligned(4096)));
static uint8_t disk[DISK_BYTES];
static struct virtio_blk_io *pending[512];
static int result[512];
static bool settled[512];
static unsigned nr_pending;
static bool async_mode;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int disk_do(struct virtio_blk_io *io)
{
	size_t done = 0;

	if (io->offset_bytes > DISK_BYTES || io->len_bytes > DISK_BYTES - io->offset_bytes)
		abort(); /* the model let an out-of-range request through */
	if (io->op == VIRTIO_BLK_OP_READ || io->op == VIRTIO_BLK_OP_WRITE) {
		for (unsigned i = 0; i < io->iovcnt; i++) {
			if (done + io->iov[i].iov_len > io->len_bytes)
				abort();
			if (io->op == VIRTIO_BLK_OP_READ)
				memcpy(io->iov[i].iov_base, disk + io->offset_bytes + done,
				       io->iov[i].iov_len);
			else
				memcpy(disk + io->offset_bytes + done, io->iov[i].iov_base,
				       io->iov[i].iov_len);
			done += io->iov[i].iov_len;
		}
		return (int)done;
	}
	if (io->op == VIRTIO_BLK_OP_WRITE_ZEROES)
		memset(disk + io->offset_bytes, 0, io->len_bytes);
	return 0;
}

/* Every I/O waits for complete_all(): a backend never completes inside submit (virtio_blk.h). */
static int disk_submit(void *o, struct virtio_blk_io *io)
{
	(void)o;
	if (nr_pending == 512)
		return -EIO;
	settled[nr_pending] = false;
	pending[nr_pending++] = io;
	return 0;
}

/* The reset's settle: every pending transfer happens now, no completion is called. */
static void disk_settle(void *o)
{
	(void)o;
	for (unsigned i = 0; i < nr_pending; i++)
		if (!settled[i]) {
			result[i] = disk_do(pending[i]);
			settled[i] = true;
		}
}

/* The completions, as the event loop runs them (they may submit more: those run too). */
static void complete_all(void)
{
	for (unsigned i = 0; i < nr_pending; i++)
		pending[i]->complete(pending[i], settled[i] ? result[i] : disk_do(pending[i]));
	nr_pending = 0;
}

/* The driver's notification; without async completions they all run right after it. */
static void kick(struct virtio_dev *vdev)
{
	virtio_dev_kick(vdev, 0);
	if (!async_mode)
		complete_all();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_blk_backend be = { .size_bytes = DISK_BYTES, .submit = disk_submit };
	struct virtio_dev *vdev;
	struct virtq *vq;
	struct gmem gm;

	log_set_level(LOG_ERROR); /* guest-mistake warnings would flood the fuzzer's output */
	if (size < 2)
		return 0;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + 2, size - 2 < sizeof(ram) ? size - 2 : sizeof(ram));
	async_mode = data[1] & 1;
	/* without a settle the reset only drops the late completions */
	be.settle = (data[1] & 4) ? disk_settle : NULL;
	nr_pending = 0;
	gmem_init(&gm);
	gmem_add_hva(&gm, RAM_GPA, RAM_LEN, ram);
	if (virtio_blk_create(&vdev, &gm, &be, data[0] & 1, "fuzz"))
		return 0;
	virtio_dev_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vdev->driver_features = vdev->host_features & ~((uint64_t)(data[0] >> 1) << 28);
	virtio_dev_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					    VIRTIO_CONFIG_S_FEATURES_OK);
	vq = &vdev->vqs[0];
	vq->size = 16;
	vq->desc_gpa = RAM_GPA;
	vq->avail_gpa = RAM_GPA + 0x100;
	vq->used_gpa = RAM_GPA + 0x200;
	vq->enabled = true;
	virtio_dev_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					    VIRTIO_CONFIG_S_FEATURES_OK |
					    VIRTIO_CONFIG_S_DRIVER_OK);
	kick(vdev);
	if (data[1] & 2) {
		/* a reset with requests in flight */
		virtio_dev_lock(vdev);
		virtio_dev_set_status(vdev, 0);
		virtio_dev_unlock(vdev);
	}
	complete_all();
	kick(vdev);
	complete_all();
	vdev->ops->destroy(vdev);
	gmem_destroy(&gm);
	return 0;
}
