/* test_virtio_vsock.c — virtio-vsock's queues (virtio 1.2 §5.10): packets from the tx queue reach
 * the host end, its answers fill rx buffers, short chains are returned unread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_vsock.h>

#include "harness.h"
#include "virtio/virtio_vsock.h"
#include "vq_fake.h"

#define RX_BUF FAKE_BUF
#define TX_BUF (FAKE_BUF + 0x1000)

struct vs_fix {
	struct fake_guest g;
	struct evloop *el;
	struct virtio_dev *vdev;
	struct fg_irqs irqs;
	char dir[64], path[128];
};

static void vs_up(struct vs_fix *f)
{
	const struct virtio_transport t = { .interrupt = fg_count_irq, .opaque = &f->irqs };
	char err[256] = "";

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/vmon-vvsock-XXXXXX");
	REQUIRE(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/v.sock", f->dir);
	fg_init(&f->g, NULL, 16);
	REQUIRE((f->el = evloop_create()) != NULL);
	REQUIRE(virtio_vsock_create(&f->vdev, &f->g.gm, 42, f->path, f->el, err, sizeof(err)) == 0);
	fg_start_dev(f->vdev, &t, f->vdev->host_features);
}

static void vs_down(struct vs_fix *f)
{
	f->vdev->ops->destroy(f->vdev);
	evloop_destroy(f->el);
	fg_fini(&f->g);
	rmdir(f->dir);
}

/* A tx chain (queue 1) of @len bytes at TX_BUF, with @hdr first when @len allows. */
static void tx(struct vs_fix *f, uint16_t head, const struct vsock_hdr *h, uint32_t len)
{
	uint8_t raw[VSOCK_HDR_LEN];

	vsock_hdr_encode(raw, h);
	memcpy(fg_ptr(&f->g, TX_BUF + head * 0x100), raw, len < sizeof(raw) ? len : sizeof(raw));
	fg_desc(&f->g, FAKE_Q1_DESC, head, TX_BUF + head * 0x100, len, 0, 0);
	fg_q1_avail(&f->g, head);
	virtio_dev_kick(f->vdev, 1);
}

TEST(virtio_vsock_config_holds_guest_cid)
{
	struct vs_fix f;
	uint64_t cid = 0;

	vs_up(&f);
	CHECK_EQ(f.vdev->ops->device_id, 19);
	CHECK_EQ(f.vdev->nr_queues, 3);
	f.vdev->ops->config_read(f.vdev, 0, &cid, 8);
	CHECK_EQ(cid, 42);
	vs_down(&f);
}

TEST(virtio_vsock_request_to_absent_port_gets_rst_in_rx_buffer)
{
	struct vs_fix f;
	struct vsock_hdr h = { .src_cid = 42,
			       .dst_cid = 2,
			       .src_port = 1000,
			       .dst_port = 7,
			       .type = VIRTIO_VSOCK_TYPE_STREAM,
			       .op = VIRTIO_VSOCK_OP_REQUEST,
			       .buf_alloc = 4096 };

	vs_up(&f);
	/* the guest's rx buffer: a header and 64 bytes, in two descriptors */
	fg_desc(&f.g, FAKE_DESC, 0, RX_BUF, 20, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fg_desc(&f.g, FAKE_DESC, 1, RX_BUF + 20, 88, VRING_DESC_F_WRITE, 0);
	fg_avail(&f.g, 0);
	virtio_dev_kick(f.vdev, 0);
	CHECK_EQ(fg_used_idx(&f.g), 0); /* nothing to say yet: the buffer stays */
	tx(&f, 0, &h, VSOCK_HDR_LEN);
	CHECK_EQ(fg_q1_used_idx(&f.g), 1);
	REQUIRE(fg_used_idx(&f.g) == 1);
	CHECK_EQ(fg_used(&f.g, 0).len, VSOCK_HDR_LEN);
	vsock_hdr_decode(&h, fg_ptr(&f.g, RX_BUF));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(h.src_cid, 2);
	CHECK_EQ(h.dst_cid, 42);
	CHECK_EQ(h.src_port, 7);
	CHECK_EQ(h.dst_port, 1000);
	CHECK(f.irqs.queue[0] >= 1);
	vs_down(&f);
}

TEST(virtio_vsock_short_chains_are_returned_unread)
{
	struct vs_fix f;
	struct vsock_hdr h = { .src_cid = 42,
			       .dst_cid = 2,
			       .dst_port = 7,
			       .len = 4000,
			       .type = VIRTIO_VSOCK_TYPE_STREAM,
			       .op = VIRTIO_VSOCK_OP_RW };

	vs_up(&f);
	tx(&f, 0, &h, 10); /* shorter than a header */
	CHECK_EQ(fg_q1_used_idx(&f.g), 1);
	CHECK_EQ(fg_q1_used(&f.g, 0).len, 0);
	tx(&f, 1, &h, VSOCK_HDR_LEN + 8); /* says 4000 bytes, has 8: no connection, an RST */
	CHECK_EQ(fg_q1_used_idx(&f.g), 2);
	/* an rx buffer smaller than a header is returned empty */
	fg_desc(&f.g, FAKE_DESC, 0, RX_BUF, 16, VRING_DESC_F_WRITE, 0);
	fg_avail(&f.g, 0);
	virtio_dev_kick(f.vdev, 0);
	CHECK_EQ(fg_used_idx(&f.g), 1);
	CHECK_EQ(fg_used(&f.g, 0).len, 0);
	vs_down(&f);
}

TEST(virtio_vsock_restore_sends_transport_reset_on_event_queue)
{
	struct vs_fix f;
	struct virtq *eq;
	struct vring_desc *d;
	uint16_t *avail, *used;
	uint32_t id = 0xffffffff;
	const uint64_t desc = FAKE_RAM_GPA + 0x9000, av = desc + 0x100, us = desc + 0x200;

	vs_up(&f);
	/* the event queue (2): one 8-byte buffer, as Linux posts */
	eq = &f.vdev->vqs[2];
	eq->size = 16;
	eq->desc_gpa = desc;
	eq->avail_gpa = av;
	eq->used_gpa = us;
	eq->enabled = true;
	d = fg_ptr(&f.g, desc);
	d[0] = (struct vring_desc){ .addr = RX_BUF + 0x800, .len = 8, .flags = VRING_DESC_F_WRITE };
	avail = fg_ptr(&f.g, av);
	avail[2] = 0;
	avail[1] = 1;
	virtio_dev_kick(f.vdev, 2);
	used = fg_ptr(&f.g, us);
	CHECK_EQ(used[1], 0); /* nothing to tell before a restore */
	f.vdev->ops->loaded(f.vdev);
	CHECK_EQ(used[1], 1);
	memcpy(&id, fg_ptr(&f.g, RX_BUF + 0x800), 4);
	CHECK_EQ(id, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	vs_down(&f);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(virtio_vsock_config_holds_guest_cid)
	HARNESS_T(virtio_vsock_request_to_absent_port_gets_rst_in_rx_buffer)
	HARNESS_T(virtio_vsock_short_chains_are_returned_unread)
	HARNESS_T(virtio_vsock_restore_sends_transport_reset_on_event_queue)
)
// clang-format on
