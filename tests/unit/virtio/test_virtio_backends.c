/* test_virtio_backends.c — virtio-blk over the real raw-image backend (when backends/ is in the tree). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "harness.h"
#include "virtio/virtio_backends.h"
#include "vq_fake.h"

#if VIRTIO_HAVE_HOST_BACKENDS
#include "backends/blk/blk_backend.h"

static void start(struct virtio_dev *vdev)
{
	struct virtq *vq = &vdev->vqs[0];

	virtio_dev_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vdev->driver_features = vdev->host_features;
	virtio_dev_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	vq->size = 16;
	vq->desc_gpa = FAKE_DESC;
	vq->avail_gpa = FAKE_AVAIL;
	vq->used_gpa = FAKE_USED;
	vq->enabled = true;
	virtio_dev_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					    VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void request(struct fake_guest *g, struct virtio_dev *vdev, uint32_t type, uint64_t sector, uint32_t len,
		    bool writable)
{
	struct virtio_blk_outhdr *h = fg_ptr(g, FAKE_BUF);

	h->type = type;
	h->sector = sector;
	fg_desc(g, FAKE_DESC, 0, FAKE_BUF, 16, VRING_DESC_F_NEXT, 1);
	fg_desc(g, FAKE_DESC, 1, FAKE_BUF + 0x1000, len, VRING_DESC_F_NEXT | (writable ? VRING_DESC_F_WRITE : 0), 2);
	fg_desc(g, FAKE_DESC, 2, FAKE_BUF + 0x8000, 1, VRING_DESC_F_WRITE, 0);
	*(uint8_t *)fg_ptr(g, FAKE_BUF + 0x8000) = 0xee;
	fg_avail(g, 0);
	virtio_dev_kick(vdev, 0);
}
#endif

TEST(virtio_blk_on_raw_image)
{
#if VIRTIO_HAVE_HOST_BACKENDS
	char path[] = "/tmp/vmon-virtio-blk-XXXXXX", err[128];
	struct blk_backend *b;
	struct virtio_dev *vdev;
	struct fake_guest g;
	uint8_t data[4096];
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	for (int i = 0; i < 16; i++)
		REQUIRE(write(fd, data, sizeof(data)) == (ssize_t)sizeof(data));
	close(fd);
	REQUIRE(blk_backend_open(&b, path, false, NULL, err, sizeof(err)) == 0);
	fg_init(&g, NULL, 16);
	REQUIRE(virtio_blk_create_on(&vdev, &g.gm, b, "raw") == 0);
	start(vdev);
	request(&g, vdev, VIRTIO_BLK_T_IN, 8, 4096, true);
	blk_backend_drain(b);
	CHECK_EQ(fg_used_idx(&g), 1);
	CHECK_EQ(*(uint8_t *)fg_ptr(&g, FAKE_BUF + 0x8000), VIRTIO_BLK_S_OK);
	CHECK(memcmp(fg_ptr(&g, FAKE_BUF + 0x1000), data, 4096) == 0);
	memset(fg_ptr(&g, FAKE_BUF + 0x1000), 0x77, 512);
	request(&g, vdev, VIRTIO_BLK_T_OUT, 0, 512, false);
	blk_backend_drain(b);
	request(&g, vdev, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	blk_backend_drain(b);
	CHECK_EQ(*(uint8_t *)fg_ptr(&g, FAKE_BUF + 0x8000), VIRTIO_BLK_S_OK);
	CHECK_EQ(fg_used_idx(&g), 3);
	vdev->ops->destroy(vdev);
	blk_backend_close(b);
	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	REQUIRE(read(fd, data, 512) == 512);
	CHECK_EQ(data[0], 0x77);
	CHECK_EQ(data[511], 0x77);
	close(fd);
	unlink(path);
	fg_fini(&g);
#else
	SKIP("backends/blk/blk_backend.h not in this tree yet");
#endif
}

HARNESS_MAIN(HARNESS_T(virtio_blk_on_raw_image))
