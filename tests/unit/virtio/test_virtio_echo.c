/* test_virtio_echo.c — the echo test device: each chain's readable bytes come back in its
 * writable buffers, across segment boundaries, as many as fit. */
#include <string.h>

#include "harness.h"
#include "virtio/virtio_class.h"
#include "vq_fake.h"

static struct virtio_dev *echo_start(struct fake_guest *g, struct fg_irqs *irqs,
				     struct virtio_transport *t)
{
	struct virtio_dev *vdev = NULL;

	*t = (struct virtio_transport){ .interrupt = fg_count_irq, .opaque = irqs };
	fg_init(g, NULL, 16);
	REQUIRE(virtio_echo_class.create(&vdev, &g->gm) == 0);
	fg_start_dev(vdev, t, vdev->host_features);
	return vdev;
}

TEST(virtio_echo_copies_readable_into_writable_across_segments)
{
	struct fake_guest g;
	struct fg_irqs irqs = { 0 };
	struct virtio_transport t;
	struct virtio_dev *vdev = echo_start(&g, &irqs, &t);
	uint8_t *in = fg_ptr(&g, FAKE_BUF), *out = fg_ptr(&g, FAKE_BUF + 0x1000);

	for (unsigned i = 0; i < 100; i++)
		in[i] = (uint8_t)(i * 7 + 1);
	/* readable 30 + 70, writable 64 + 64: all 100 bytes back, split 64 + 36 */
	fg_desc(&g, FAKE_DESC, 0, FAKE_BUF, 30, VRING_DESC_F_NEXT, 1);
	fg_desc(&g, FAKE_DESC, 1, FAKE_BUF + 30, 70, VRING_DESC_F_NEXT, 2);
	fg_desc(&g, FAKE_DESC, 2, FAKE_BUF + 0x1000, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	fg_desc(&g, FAKE_DESC, 3, FAKE_BUF + 0x1000 + 64, 64, VRING_DESC_F_WRITE, 0);
	fg_avail(&g, 0);
	virtio_dev_kick(vdev, 0);
	CHECK_EQ(fg_used_idx(&g), 1);
	CHECK_EQ(fg_used(&g, 0).len, 100);
	CHECK(!memcmp(in, out, 100));
	CHECK_EQ(out[100], 0); /* nothing past what was echoed */
	CHECK_EQ(irqs.queue[0], 1);
	vdev->ops->destroy(vdev);
	fg_fini(&g);
}

TEST(virtio_echo_stops_at_the_end_of_the_writable_part)
{
	struct fake_guest g;
	struct fg_irqs irqs = { 0 };
	struct virtio_transport t;
	struct virtio_dev *vdev = echo_start(&g, &irqs, &t);
	uint8_t *out = fg_ptr(&g, FAKE_BUF + 0x1000);

	memset(fg_ptr(&g, FAKE_BUF), 0xab, 200);
	/* 200 readable, 16 writable: 16 back */
	fg_desc(&g, FAKE_DESC, 0, FAKE_BUF, 200, VRING_DESC_F_NEXT, 1);
	fg_desc(&g, FAKE_DESC, 1, FAKE_BUF + 0x1000, 16, VRING_DESC_F_WRITE, 0);
	fg_avail(&g, 0);
	/* only writable: nothing to echo, used length 0 */
	fg_desc(&g, FAKE_DESC, 2, FAKE_BUF + 0x2000, 16, VRING_DESC_F_WRITE, 0);
	fg_avail(&g, 2);
	virtio_dev_kick(vdev, 0);
	CHECK_EQ(fg_used_idx(&g), 2);
	CHECK_EQ(fg_used(&g, 0).len, 16);
	CHECK_EQ(out[15], 0xab);
	CHECK_EQ(out[16], 0);
	CHECK_EQ(fg_used(&g, 1).len, 0);
	vdev->ops->destroy(vdev);
	fg_fini(&g);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(virtio_echo_copies_readable_into_writable_across_segments)
	HARNESS_T(virtio_echo_stops_at_the_end_of_the_writable_part)
)
// clang-format on
