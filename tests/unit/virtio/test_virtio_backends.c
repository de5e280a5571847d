/* test_virtio_backends.c — virtio-blk over the real raw-image backend (when backends/ is in the
 * tree). */
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
#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#include "backends/blk/blk_backend.h"
#include "backends/net/net_tap.h"
#include "unit/backends/tap_netns.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_net.h"
#include "base/evloop.h"

/* Second queue's rings (the transmit queue), beside vq_fake.h's. */
#define Q1_DESC (FAKE_RAM_GPA + 0x6000)
#define Q1_AVAIL (FAKE_RAM_GPA + 0x7000)
#define Q1_USED (FAKE_RAM_GPA + 0x8000)

static void start(struct virtio_dev *vdev)
{
	virtio_dev_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vdev->driver_features = vdev->host_features;
	virtio_dev_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					    VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < vdev->nr_queues && q < 2; q++) {
		struct virtq *vq = &vdev->vqs[q];

		vq->size = 16;
		vq->desc_gpa = q ? Q1_DESC : FAKE_DESC;
		vq->avail_gpa = q ? Q1_AVAIL : FAKE_AVAIL;
		vq->used_gpa = q ? Q1_USED : FAKE_USED;
		vq->enabled = true;
	}
	virtio_dev_set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					    VIRTIO_CONFIG_S_FEATURES_OK |
					    VIRTIO_CONFIG_S_DRIVER_OK);
}

static void request(struct fake_guest *g, struct virtio_dev *vdev, uint32_t type, uint64_t sector,
		    uint32_t len, bool writable)
{
	struct virtio_blk_outhdr *h = fg_ptr(g, FAKE_BUF);

	h->type = type;
	h->sector = sector;
	fg_desc(g, FAKE_DESC, 0, FAKE_BUF, 16, VRING_DESC_F_NEXT, 1);
	fg_desc(g, FAKE_DESC, 1, FAKE_BUF + 0x1000, len,
		VRING_DESC_F_NEXT | (writable ? VRING_DESC_F_WRITE : 0), 2);
	fg_desc(g, FAKE_DESC, 2, FAKE_BUF + 0x8000, 1, VRING_DESC_F_WRITE, 0);
	*(uint8_t *)fg_ptr(g, FAKE_BUF + 0x8000) = 0xee;
	fg_avail(g, 0);
	virtio_dev_kick(vdev, 0);
}
#endif

#if VIRTIO_HAVE_HOST_BACKENDS
/* A 64 KiB raw image at mkstemp(@path): 16 copies of the 4 KiB @block. 0, or -1. */
static int make_image(char *path, const uint8_t block[4096])
{
	int fd = mkstemp(path), ok = fd >= 0;

	for (int i = 0; ok && i < 16; i++)
		ok = write(fd, block, 4096) == 4096;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
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
	int fd;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	REQUIRE(make_image(path, data) == 0);
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

/*
 * A driver reset with reads in flight in the real backend (io_uring or threads; no event loop, so
 * nothing reaps them but the reset's drain): when the reset returns they have finished, and what
 * the backend reaps later writes neither the guest's buffer nor the rings.
 */
TEST(virtio_blk_reset_waits_for_raw_image_reads)
{
#if VIRTIO_HAVE_HOST_BACKENDS
	char path[] = "/tmp/vmon-virtio-blk-XXXXXX", err[128];
	struct blk_backend *b;
	struct virtio_dev *vdev;
	struct fake_guest g;
	uint8_t data[4096];

	memset(data, 0xa5, sizeof(data));
	REQUIRE(make_image(path, data) == 0);
	REQUIRE(blk_backend_open(&b, path, false, NULL, err, sizeof(err)) == 0);
	fg_init(&g, NULL, 16);
	REQUIRE(virtio_blk_create_on(&vdev, &g.gm, b, "raw") == 0);
	start(vdev);
	request(&g, vdev, VIRTIO_BLK_T_IN, 0, 16384, true);
	request(&g, vdev, VIRTIO_BLK_T_IN, 32, 16384, true);
	CHECK_EQ(virtio_blk_inflight(vdev), 2);
	virtio_dev_lock(vdev);
	virtio_dev_set_status(vdev, 0);
	virtio_dev_unlock(vdev);
	CHECK_EQ(virtio_blk_inflight(vdev), 0);
	CHECK_EQ(virtio_dev_status_read(vdev), 0);
	memset(fg_ptr(&g, FAKE_BUF + 0x1000), 0x3c, 16384); /* the driver reuses its buffer */
	/* the reset settled both reads: their completions come now, and are dropped */
	CHECK_EQ(blk_backend_poll(b), 2);
	blk_backend_drain(b);
	CHECK_EQ(*(uint8_t *)fg_ptr(&g, FAKE_BUF + 0x1000), 0x3c);
	CHECK_EQ(*(uint8_t *)fg_ptr(&g, FAKE_BUF + 0x1000 + 16383), 0x3c);
	CHECK_EQ(*(uint8_t *)fg_ptr(&g, FAKE_BUF + 0x8000), 0xee);
	CHECK_EQ(fg_used_idx(&g), 0);
	vdev->ops->destroy(vdev);
	blk_backend_close(b);
	unlink(path);
	fg_fini(&g);
#else
	SKIP("backends/blk/blk_backend.h not in this tree yet");
#endif
}

TEST(virtio_net_on_a_real_tap)
{
#if VIRTIO_HAVE_HOST_BACKENDS
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	uint8_t frame[100], got[2048];
	struct sockaddr_ll sll = { 0 };
	struct fake_guest g;
	struct virtio_dev *vdev;
	struct net_tap *t;
	struct evloop *el;
	uint16_t *q1;
	uint8_t *buf;
	char err[256];
	bool found = false;
	int s;

	need_netns();
	REQUIRE(net_tap_open(&t, TAP_NAME, err, sizeof(err)) == 0);
	REQUIRE(set_up(TAP_NAME) == 0);
	el = evloop_create();
	REQUIRE(el);
	fg_init(&g, NULL, 16);
	buf = fg_ptr(&g, FAKE_BUF);
	REQUIRE(virtio_net_create_on(&vdev, &g.gm, t, NULL, NULL, mac, el) == 0);
	CHECK(vdev->host_features & (1ull << VIRTIO_NET_F_GUEST_TSO4));
	start(vdev); /* sets the TAP offloads and watches its fd */
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TEST_ETHERTYPE));
	REQUIRE(s >= 0);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(TEST_ETHERTYPE);
	sll.sll_ifindex = (int)if_nametoindex(TAP_NAME);
	REQUIRE(bind(s, (struct sockaddr *)&sll, sizeof(sll)) == 0);

	/* guest -> host: header + frame on the transmit queue reach the interface */
	fill_frame(frame, sizeof(frame), 1);
	memset(buf, 0, 12);
	memcpy(buf + 12, frame, sizeof(frame));
	fg_desc(&g, Q1_DESC, 0, FAKE_BUF, 12, VRING_DESC_F_NEXT, 1);
	fg_desc(&g, Q1_DESC, 1, FAKE_BUF + 12, sizeof(frame), 0, 0);
	q1 = fg_ptr(&g, Q1_AVAIL);
	q1[2] = 0;
	q1[1] = 1;
	virtio_dev_kick(vdev, 1);
	CHECK_EQ(((uint16_t *)fg_ptr(&g, Q1_USED))[1], 1);
	REQUIRE(readable(s));
	CHECK_EQ(recv(s, got, sizeof(got), 0), sizeof(frame));
	CHECK(memcmp(got, frame, sizeof(frame)) == 0);

	/* host -> guest: a frame sent on the interface lands in a receive buffer */
	fill_frame(frame, sizeof(frame), 2);
	for (unsigned i = 0; i < 8; i++) {
		fg_desc(&g, FAKE_DESC, i, FAKE_BUF + 0x1000 + i * 2048, 2048, VRING_DESC_F_WRITE,
			0);
		fg_avail(&g, (uint16_t)i);
	}
	virtio_dev_kick(vdev, 0);
	CHECK_EQ(sendto(s, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
		 sizeof(frame));
	for (int tries = 0; tries < 20 && !found && readable(net_tap_fd(t)); tries++) {
		virtio_net_rx_ready(vdev); /* what the event loop's handler does */
		for (unsigned i = 0; i < fg_used_idx(&g) && !found; i++) {
			struct vring_used_elem u = fg_used(&g, i);
			uint8_t *p = fg_ptr(&g, FAKE_BUF + 0x1000 + u.id * 2048);

			if (u.len == 12 + sizeof(frame) && p[12 + 12] == (TEST_ETHERTYPE >> 8) &&
			    memcmp(p + 12, frame, sizeof(frame)) == 0) {
				found = true;
				CHECK_EQ(p[10], 1); /* num_buffers */
			}
		}
	}
	CHECK(found);
	close(s);
	vdev->ops->destroy(vdev);
	net_tap_close(t);
	evloop_destroy(el);
	fg_fini(&g);
#else
	SKIP("backends/net/net_tap.h not in this tree yet");
#endif
}

#if VIRTIO_HAVE_HOST_BACKENDS
/* A filter that takes frames whose first payload byte is 0xf0 and answers each with one frame. */
struct fake_filter {
	unsigned taken, pending;
	size_t hdr_len;
	uint8_t reply[64];
};

static bool ff_tx(void *opaque, const struct iovec *iov, int n, size_t hdr_len)
{
	struct fake_filter *f = opaque;
	uint8_t first = 0;
	size_t off = hdr_len + 14;

	for (int i = 0; i < n; i++) {
		if (off < iov[i].iov_len) {
			first = ((const uint8_t *)iov[i].iov_base)[off];
			break;
		}
		off -= iov[i].iov_len;
	}
	f->hdr_len = hdr_len;
	if (first != 0xf0)
		return false;
	f->taken++;
	f->pending++;
	return true;
}

static bool ff_has_rx(void *opaque)
{
	return ((struct fake_filter *)opaque)->pending > 0;
}

static size_t ff_rx(void *opaque, uint8_t *buf, size_t cap)
{
	struct fake_filter *f = opaque;

	if (!f->pending || cap < sizeof(f->reply))
		return 0;
	f->pending--;
	memcpy(buf, f->reply, sizeof(f->reply));
	return sizeof(f->reply);
}
#endif

TEST(virtio_net_filter_takes_its_frames_and_answers_before_the_tap)
{
#if VIRTIO_HAVE_HOST_BACKENDS
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	struct fake_filter ff = { 0 };
	struct virtio_net_filter filter = {
		.opaque = &ff, .tx = ff_tx, .has_rx = ff_has_rx, .rx = ff_rx
	};
	uint8_t frame[100], got[2048];
	struct sockaddr_ll sll = { 0 };
	struct fake_guest g;
	struct virtio_dev *vdev;
	struct net_tap *t;
	struct evloop *el;
	uint16_t *q1;
	uint8_t *buf;
	char err[256];
	int s;

	need_netns();
	REQUIRE(net_tap_open(&t, TAP_NAME, err, sizeof(err)) == 0);
	REQUIRE(set_up(TAP_NAME) == 0);
	el = evloop_create();
	REQUIRE(el);
	fg_init(&g, NULL, 16);
	buf = fg_ptr(&g, FAKE_BUF);
	REQUIRE(virtio_net_create_on(&vdev, &g.gm, t, NULL, &filter, mac, el) == 0);
	start(vdev);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TEST_ETHERTYPE));
	REQUIRE(s >= 0);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(TEST_ETHERTYPE);
	sll.sll_ifindex = (int)if_nametoindex(TAP_NAME);
	REQUIRE(bind(s, (struct sockaddr *)&sll, sizeof(sll)) == 0);
	memset(ff.reply, 0xab, sizeof(ff.reply));

	/* two frames: the filter's (payload 0xf0...) and another, which reaches the interface */
	fill_frame(frame, sizeof(frame), 1);
	frame[14] = 0xf0;
	memset(buf, 0, 12);
	memcpy(buf + 12, frame, sizeof(frame));
	fill_frame(frame, sizeof(frame), 2);
	frame[14] = 0x0f;
	memset(buf + 256, 0, 12);
	memcpy(buf + 256 + 12, frame, sizeof(frame));
	fg_desc(&g, Q1_DESC, 0, FAKE_BUF, 12, VRING_DESC_F_NEXT, 1);
	fg_desc(&g, Q1_DESC, 1, FAKE_BUF + 12, sizeof(frame), 0, 0);
	fg_desc(&g, Q1_DESC, 2, FAKE_BUF + 256, 12 + sizeof(frame), 0, 0);
	q1 = fg_ptr(&g, Q1_AVAIL);
	q1[2] = 0;
	q1[3] = 2;
	q1[1] = 2;
	virtio_dev_kick(vdev, 1);
	CHECK_EQ(((uint16_t *)fg_ptr(&g, Q1_USED))[1], 2);
	CHECK_EQ(ff.taken, 1);
	CHECK_EQ(ff.hdr_len, 12);
	REQUIRE(readable(s));
	CHECK_EQ(recv(s, got, sizeof(got), 0), sizeof(frame));
	CHECK_EQ(got[14], 0x0f); /* only the other frame went out */

	/* the filter's answer lands in the guest's first receive buffer, after a 12-byte header */
	for (unsigned i = 0; i < 4; i++) {
		fg_desc(&g, FAKE_DESC, i, FAKE_BUF + 0x1000 + i * 2048, 2048, VRING_DESC_F_WRITE,
			0);
		fg_avail(&g, (uint16_t)i);
	}
	virtio_net_rx_ready(vdev); /* what the filter's wake-up on the event loop does */
	REQUIRE(fg_used_idx(&g) >= 1);
	CHECK_EQ(fg_used(&g, 0).len, 12 + sizeof(ff.reply));
	CHECK_EQ(*(uint8_t *)fg_ptr(&g, FAKE_BUF + 0x1000 + 12), 0xab);
	CHECK_EQ(*(uint8_t *)fg_ptr(&g, FAKE_BUF + 0x1000), 0); /* no offload flags */
	CHECK_EQ(ff.pending, 0);
	close(s);
	vdev->ops->destroy(vdev);
	net_tap_close(t);
	evloop_destroy(el);
	fg_fini(&g);
#else
	SKIP("backends/net/net_tap.h not in this tree yet");
#endif
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(virtio_blk_on_raw_image)
	HARNESS_T(virtio_blk_reset_waits_for_raw_image_reads)
	HARNESS_T(virtio_net_on_a_real_tap)
	HARNESS_T(virtio_net_filter_takes_its_frames_and_answers_before_the_tap)
)
// clang-format on
