/* test_virtio_console.c — virtio-console: input pulled from the chardev into receive buffers,
 * output and the emergency write (virtio 1.2 §5.3). */
#include <stdlib.h>

#include "harness.h"
#include "backends/chardev_buffer.h"
#include "virtio/virtio_console.h"
#include "vq_fake.h"

TEST(console_input_pulled_into_buffers)
{
	struct fake_guest g;
	struct virtio_dev *vdev;
	struct fg_irqs irqs = { 0 };
	const struct virtio_transport t = { .interrupt = fg_count_irq, .opaque = &irqs };
	struct chardev_buffer *cb = chardev_buffer_create(8192, 256);
	uint8_t *buf;
	size_t out_len;
	const uint8_t *out;

	fg_init(&g, NULL, 16);
	buf = fg_ptr(&g, FAKE_BUF);
	REQUIRE(virtio_console_create(&vdev, &g.gm, chardev_buffer_chardev(cb)) == 0);
	fg_start_dev(vdev, &t, vdev->host_features);
	/* input with no buffer posted stays in the backend */
	CHECK_EQ(chardev_buffer_push(cb, (const uint8_t *)"ls\n", 3), 3);
	CHECK_EQ(fg_used_idx(&g), 0);
	CHECK_EQ(chardev_buffer_pending(cb), 3);
	fg_desc(&g, FAKE_DESC, 0, FAKE_BUF, 2, VRING_DESC_F_WRITE, 0);
	fg_avail(&g, 0);
	virtio_dev_kick(vdev, 0);
	CHECK_EQ(fg_used_idx(&g), 1);
	CHECK_EQ(fg_used(&g, 0).len, 2);
	CHECK(memcmp(buf, "ls", 2) == 0);
	/* a buffer posted first, input later: the backend's notify delivers it */
	fg_desc(&g, FAKE_DESC, 1, FAKE_BUF + 0x100, 16, VRING_DESC_F_WRITE, 0);
	fg_avail(&g, 1);
	virtio_dev_kick(vdev, 0);
	CHECK_EQ(fg_used_idx(&g), 2);
	CHECK_EQ(buf[0x100], '\n');
	fg_avail(&g, 1);
	virtio_dev_kick(vdev, 0);
	CHECK_EQ(fg_used_idx(&g), 2); /* nothing pending: buffer kept */
	chardev_buffer_push(cb, (const uint8_t *)"xy", 2);
	CHECK_EQ(fg_used_idx(&g), 3);
	CHECK_EQ(fg_used(&g, 2).len, 2);
	/* output and emergency write */
	memcpy(fg_ptr(&g, FAKE_BUF + 0x200), "out", 3);
	fg_desc(&g, FAKE_Q1_DESC, 0, FAKE_BUF + 0x200, 3, 0, 0);
	fg_q1_avail(&g, 0);
	virtio_dev_kick(vdev, 1);
	{
		uint32_t ch = '!';

		vdev->ops->config_write(vdev, 8, &ch, 4);
	}
	out = chardev_buffer_output(cb, &out_len);
	CHECK_EQ(out_len, 4);
	CHECK(memcmp(out, "out!", 4) == 0);
	vdev->ops->destroy(vdev);
	chardev_destroy(chardev_buffer_chardev(cb));
	fg_fini(&g);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(console_input_pulled_into_buffers)
)
// clang-format on
