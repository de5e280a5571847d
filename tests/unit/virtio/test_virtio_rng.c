/* test_virtio_rng.c — virtio-rng: buffers filled with host entropy, kicks ignored before
 * DRIVER_OK (virtio 1.2 §5.4). */
#include <stdlib.h>

#include "harness.h"
#include "virtio/virtio_rng.h"
#include "vq_fake.h"

TEST(rng_fills_buffers)
{
	struct fake_guest g;
	struct virtio_dev *vdev;
	struct fg_irqs irqs = { 0 };
	const struct virtio_transport t = { .interrupt = fg_count_irq, .opaque = &irqs };
	uint8_t *buf;
	unsigned nonzero = 0;

	fg_init(&g, NULL, 16);
	buf = fg_ptr(&g, FAKE_BUF);
	REQUIRE(virtio_rng_create(&vdev, &g.gm) == 0);
	fg_start_dev(vdev, &t, vdev->host_features);
	fg_desc(&g, FAKE_DESC, 0, FAKE_BUF, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fg_desc(&g, FAKE_DESC, 1, FAKE_BUF + 64, 64, VRING_DESC_F_WRITE, 0);
	fg_avail(&g, 0);
	virtio_dev_kick(vdev, 0);
	CHECK_EQ(fg_used_idx(&g), 1);
	CHECK_EQ(fg_used(&g, 0).len, 128);
	for (unsigned i = 0; i < 128; i++)
		nonzero += buf[i] != 0;
	CHECK(nonzero > 64);
	CHECK_EQ(irqs.queue[0], 1);
	/* kicks before DRIVER_OK do nothing */
	virtio_dev_set_status(vdev, 0);
	fg_avail(&g, 0);
	virtio_dev_kick(vdev, 0);
	CHECK_EQ(fg_used_idx(&g), 1);
	vdev->ops->destroy(vdev);
	fg_fini(&g);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(rng_fills_buffers)
)
// clang-format on
