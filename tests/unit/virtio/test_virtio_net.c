/* test_virtio_net.c — virtio-net rx/tx with and without a vnet header, flow control, offloads; rng
 * and console queues. */
#include <errno.h>
#include <stdlib.h>

#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "harness.h"
#include "backends/chardev_buffer.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_rng.h"
#include "vq_fake.h"

/* Second queue's rings, beside the first ones of vq_fake.h. */
#define Q1_DESC (FAKE_RAM_GPA + 0x6000)
#define Q1_AVAIL (FAKE_RAM_GPA + 0x7000)
#define Q1_USED (FAKE_RAM_GPA + 0x8000)

struct env {
	struct fake_guest g;
	struct virtio_dev *vdev;
	uint8_t pkt[2048];
	ssize_t pkt_len; /* pending host packet, or -1 */
	uint8_t sent[4096];
	size_t sent_len;
	unsigned tx_calls, offload_flags, irqs[2];
	int watching;
	uint16_t q1_avail;
	bool refill; /* writev re-posts the chain, like a guest that never stops */
	unsigned requeues;
	/* the fake in-kernel data path and the transport's queue eventfds */
	int dp_start_rc;
	unsigned dp_starts, dp_stops;
	uint64_t dp_features;
	struct virtio_net_dp_ring dp_vr[2];
	uint16_t dp_stop_idx[2];
	bool fd_taken[2];
	unsigned fd_returns;
	int irqfd[2]; /* what queue_irqfd bound, -1: nothing */
};

static void q1_avail(struct env *e, uint16_t head);

static ssize_t be_readv(void *o, const struct iovec *iov, int n)
{
	struct env *e = o;
	size_t done;

	if (e->pkt_len < 0)
		return -EAGAIN;
	done = virtq_buf_to_iov(iov, (unsigned)n, 0, e->pkt, (size_t)e->pkt_len);
	e->pkt_len = -1;
	return (ssize_t)done;
}

static ssize_t be_writev(void *o, const struct iovec *iov, int n)
{
	struct env *e = o;

	e->tx_calls++;
	if (e->refill)
		q1_avail(e, 0);
	e->sent_len = virtq_iov_to_buf(iov, (unsigned)n, 0, e->sent, sizeof(e->sent));
	return (ssize_t)e->sent_len;
}

static int be_offload(void *o, unsigned flags)
{
	((struct env *)o)->offload_flags = flags;
	return 0;
}

static void be_watch(void *o, bool on)
{
	((struct env *)o)->watching = on;
}

static void on_irq(void *o, struct virtio_dev *vdev, int q)
{
	(void)vdev;
	if (q >= 0 && q < 2)
		((struct env *)o)->irqs[q]++;
}

static int dp_start(void *o, uint64_t features, const struct virtio_net_dp_ring vr[2])
{
	struct env *e = o;

	if (e->dp_start_rc)
		return e->dp_start_rc;
	e->dp_starts++;
	e->dp_features = features;
	memcpy(e->dp_vr, vr, sizeof(e->dp_vr));
	return 0;
}

static int dp_stop(void *o, uint16_t idx[2])
{
	struct env *e = o;

	e->dp_stops++;
	if (idx)
		memcpy(idx, e->dp_stop_idx, sizeof(e->dp_stop_idx));
	return 0;
}

/* the transport: queue q's eventfd is 100 + q */
static int queue_fd(void *o, struct virtio_dev *vdev, unsigned q, bool take)
{
	struct env *e = o;

	(void)vdev;
	if (q >= 2)
		return -ENOTSUP;
	if (!take && e->fd_taken[q])
		e->fd_returns++;
	e->fd_taken[q] = take;
	return take ? 100 + (int)q : 0;
}

static int queue_irqfd(void *o, struct virtio_dev *vdev, unsigned q, int fd)
{
	(void)vdev;
	if (q >= 2)
		return -EINVAL;
	((struct env *)o)->irqfd[q] = fd;
	return 0;
}

static void start(struct env *e, uint64_t features)
{
	struct virtq *vq;

	e->vdev->transport.interrupt = on_irq;
	e->vdev->transport.queue_fd = queue_fd;
	e->vdev->transport.queue_irqfd = queue_irqfd;
	e->vdev->transport.opaque = e;
	virtio_dev_set_status(e->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	e->vdev->driver_features = features;
	virtio_dev_set_status(e->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					       VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < e->vdev->nr_queues && q < 2; q++) {
		vq = &e->vdev->vqs[q];
		vq->size = 16;
		vq->desc_gpa = q ? Q1_DESC : FAKE_DESC;
		vq->avail_gpa = q ? Q1_AVAIL : FAKE_AVAIL;
		vq->used_gpa = q ? Q1_USED : FAKE_USED;
		vq->enabled = true;
	}
	virtio_dev_set_status(e->vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					       VIRTIO_CONFIG_S_FEATURES_OK |
					       VIRTIO_CONFIG_S_DRIVER_OK);
}

static struct env *net_env(bool vnet_hdr)
{
	struct env *e = calloc(1, sizeof(*e));
	struct virtio_net_backend be = { e, vnet_hdr, be_offload, be_readv, be_writev, be_watch };
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

	e->pkt_len = -1;
	fg_init(&e->g, NULL, 16);
	if (virtio_net_create(&e->vdev, &e->g.gm, &be, mac))
		abort();
	return e;
}

/* A device whose backend has an in-kernel data path handling VERSION_1 and EVENT_IDX only. */
static struct env *dp_env(void)
{
	struct env *e = calloc(1, sizeof(*e));
	struct virtio_net_backend be = {
		.opaque = e,
		.vnet_hdr = true,
		.set_offload = be_offload,
		.readv = be_readv,
		.writev = be_writev,
		.rx_watch = be_watch,
		.dp_features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX),
		.dp_start = dp_start,
		.dp_stop = dp_stop,
		.dp_call_fd = { 200, 201 },
	};
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x57 };

	e->pkt_len = -1;
	e->irqfd[0] = e->irqfd[1] = -1;
	fg_init(&e->g, NULL, 16);
	if (virtio_net_create(&e->vdev, &e->g.gm, &be, mac))
		abort();
	return e;
}

static void env_free(struct env *e)
{
	e->vdev->ops->destroy(e->vdev);
	fg_fini(&e->g);
	free(e);
}

static bool on_requeue(void *o, struct virtio_dev *vdev, unsigned q)
{
	(void)vdev;
	(void)q;
	((struct env *)o)->requeues++;
	return true;
}

static void q1_avail(struct env *e, uint16_t head)
{
	uint16_t *ring = fg_ptr(&e->g, Q1_AVAIL);

	ring[2 + e->q1_avail % 16] = head;
	ring[1] = ++e->q1_avail;
}

static uint16_t q1_used_idx(struct env *e)
{
	return ((uint16_t *)fg_ptr(&e->g, Q1_USED))[1];
}

TEST(net_config_and_features)
{
	struct env *e = net_env(true), *f = net_env(false);
	struct virtio_net_config cfg;

	e->vdev->ops->config_read(e->vdev, 0, &cfg, sizeof(cfg));
	CHECK_EQ(cfg.mac[5], 0x56);
	CHECK_EQ(cfg.status, VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(cfg.mtu, 1500);
	CHECK(e->vdev->host_features & (1ull << VIRTIO_NET_F_GUEST_TSO4));
	CHECK(e->vdev->host_features & (1ull << VIRTIO_NET_F_CSUM));
	CHECK(!(f->vdev->host_features & (1ull << VIRTIO_NET_F_GUEST_TSO4)));
	CHECK(!(f->vdev->host_features & (1ull << VIRTIO_NET_F_CSUM)));
	CHECK(f->vdev->host_features & (1ull << VIRTIO_NET_F_MAC));
	start(e, e->vdev->host_features);
	CHECK_EQ(e->offload_flags, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	env_free(e);
	env_free(f);
}

TEST(net_tx_with_vnet_hdr_passes_header)
{
	struct env *e = net_env(true);
	uint8_t *buf = fg_ptr(&e->g, FAKE_BUF);

	start(e, e->vdev->host_features);
	memset(buf, 0, 12);
	buf[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	memcpy(buf + 12, "frame-data", 10);
	fg_desc(&e->g, Q1_DESC, 0, FAKE_BUF, 12, VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, Q1_DESC, 1, FAKE_BUF + 12, 10, 0, 0);
	q1_avail(e, 0);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 1);
	CHECK_EQ(e->sent_len, 22);
	CHECK_EQ(e->sent[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(q1_used_idx(e), 1);
	CHECK_EQ(e->irqs[1], 1);
	env_free(e);
}

TEST(net_tx_without_vnet_hdr_strips_header)
{
	struct env *e = net_env(false);
	uint8_t *buf = fg_ptr(&e->g, FAKE_BUF);
	struct virtio_net_stats st;

	start(e, e->vdev->host_features);
	memcpy(buf + 12, "frame", 5);
	fg_desc(&e->g, Q1_DESC, 0, FAKE_BUF, 17, 0, 0);
	q1_avail(e, 0);
	/* too short for the header: dropped, returned, counted */
	fg_desc(&e->g, Q1_DESC, 1, FAKE_BUF, 4, 0, 0);
	q1_avail(e, 1);
	/* a writable buffer on the transmit queue */
	fg_desc(&e->g, Q1_DESC, 2, FAKE_BUF, 40, VRING_DESC_F_WRITE, 0);
	q1_avail(e, 2);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 1);
	CHECK_EQ(e->sent_len, 5);
	CHECK(memcmp(e->sent, "frame", 5) == 0);
	CHECK_EQ(q1_used_idx(e), 3);
	virtio_net_get_stats(e->vdev, &st);
	CHECK_EQ(st.tx_packets, 1);
	CHECK_EQ(st.tx_dropped, 2);
	env_free(e);
}

TEST(net_tx_yields_to_the_event_loop)
{
	struct env *e = net_env(true);

	start(e, e->vdev->host_features);
	e->vdev->transport.requeue = on_requeue;
	fg_desc(&e->g, Q1_DESC, 0, FAKE_BUF, 20, 0, 0);
	q1_avail(e, 0);
	e->refill = true;
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, VIRTIO_QUEUE_BUDGET);
	CHECK_EQ(e->requeues, 1);
	CHECK_EQ(e->irqs[1], 1);
	e->refill = false;
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, VIRTIO_QUEUE_BUDGET + 1);
	env_free(e);
}

TEST(net_rx_and_flow_control)
{
	struct env *e = net_env(false);
	uint8_t *buf = fg_ptr(&e->g, FAKE_BUF);

	/* one chain per frame (no MRG_RXBUF); the merged path has its own test below */
	start(e, e->vdev->host_features & ~(1ull << VIRTIO_NET_F_MRG_RXBUF));
	CHECK_EQ(e->watching, 1);
	/* a packet with no buffers posted: stop watching, keep the packet */
	memcpy(e->pkt, "hello-guest", 11);
	e->pkt_len = 11;
	virtio_net_rx_ready(e->vdev);
	CHECK_EQ(e->watching, 0);
	CHECK_EQ(e->pkt_len, 11);
	/* the guest posts a buffer and kicks: watching again, packet delivered */
	memset(buf, 0xff, 64);
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 64, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 0);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(e->pkt_len, -1);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(fg_used(&e->g, 0).len, 23);
	CHECK_EQ(buf[0], 0); /* zeroed header */
	CHECK_EQ(buf[10], 1); /* num_buffers = 1 */
	CHECK_EQ(buf[11], 0);
	CHECK(memcmp(buf + 12, "hello-guest", 11) == 0);
	CHECK_EQ(e->irqs[0], 1);
	env_free(e);
}

/* with and without VIRTIO_NET_F_MRG_RXBUF: an unusable buffer is returned empty, the next one used
 */
TEST(net_rx_buffer_too_small)
{
	for (int merged = 0; merged < 2; merged++) {
		struct env *e = net_env(true);
		uint64_t f = e->vdev->host_features;

		start(e, merged ? f : f & ~(1ull << VIRTIO_NET_F_MRG_RXBUF));
		e->pkt_len = 30;
		fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 8, VRING_DESC_F_WRITE, 0);
		fg_avail(&e->g, 0);
		fg_desc(&e->g, FAKE_DESC, 1, FAKE_BUF + 0x100, 2048, VRING_DESC_F_WRITE, 0);
		fg_avail(&e->g, 1);
		virtio_dev_kick(e->vdev, 0);
		CHECK_EQ(fg_used_idx(&e->g), 2);
		CHECK_EQ(fg_used(&e->g, 0).len, 0);
		CHECK_EQ(fg_used(&e->g, 1).len, 30);
		env_free(e);
	}
}

TEST(console_input_pulled_into_buffers)
{
	struct env *e = calloc(1, sizeof(*e));
	struct chardev_buffer *cb = chardev_buffer_create(8192, 256);
	uint8_t *buf;
	size_t out_len;
	const uint8_t *out;

	fg_init(&e->g, NULL, 16);
	buf = fg_ptr(&e->g, FAKE_BUF);
	REQUIRE(virtio_console_create(&e->vdev, &e->g.gm, chardev_buffer_chardev(cb)) == 0);
	start(e, e->vdev->host_features);
	/* input with no buffer posted stays in the backend */
	CHECK_EQ(chardev_buffer_push(cb, (const uint8_t *)"ls\n", 3), 3);
	CHECK_EQ(fg_used_idx(&e->g), 0);
	CHECK_EQ(chardev_buffer_pending(cb), 3);
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 2, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 0);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(fg_used(&e->g, 0).len, 2);
	CHECK(memcmp(buf, "ls", 2) == 0);
	/* a buffer posted first, input later: the backend's notify delivers it */
	fg_desc(&e->g, FAKE_DESC, 1, FAKE_BUF + 0x100, 16, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 1);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 2);
	CHECK_EQ(buf[0x100], '\n');
	fg_avail(&e->g, 1);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 2); /* nothing pending: buffer kept */
	chardev_buffer_push(cb, (const uint8_t *)"xy", 2);
	CHECK_EQ(fg_used_idx(&e->g), 3);
	CHECK_EQ(fg_used(&e->g, 2).len, 2);
	/* output and emergency write */
	memcpy(fg_ptr(&e->g, FAKE_BUF + 0x200), "out", 3);
	fg_desc(&e->g, Q1_DESC, 0, FAKE_BUF + 0x200, 3, 0, 0);
	q1_avail(e, 0);
	virtio_dev_kick(e->vdev, 1);
	{
		uint32_t ch = '!';

		e->vdev->ops->config_write(e->vdev, 8, &ch, 4);
	}
	out = chardev_buffer_output(cb, &out_len);
	CHECK_EQ(out_len, 4);
	CHECK(memcmp(out, "out!", 4) == 0);
	e->vdev->ops->destroy(e->vdev);
	chardev_destroy(chardev_buffer_chardev(cb));
	fg_fini(&e->g);
	free(e);
}

TEST(rng_fills_buffers)
{
	struct env *e = calloc(1, sizeof(*e));
	uint8_t *buf;
	unsigned nonzero = 0;

	fg_init(&e->g, NULL, 16);
	buf = fg_ptr(&e->g, FAKE_BUF);
	REQUIRE(virtio_rng_create(&e->vdev, &e->g.gm) == 0);
	start(e, e->vdev->host_features);
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, FAKE_DESC, 1, FAKE_BUF + 64, 64, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 0);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(fg_used(&e->g, 0).len, 128);
	for (unsigned i = 0; i < 128; i++)
		nonzero += buf[i] != 0;
	CHECK(nonzero > 64);
	CHECK_EQ(e->irqs[0], 1);
	/* kicks before DRIVER_OK do nothing */
	virtio_dev_set_status(e->vdev, 0);
	fg_avail(&e->g, 0);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	env_free(e);
}

TEST(net_rx_mergeable_spreads_a_frame_over_chains)
{
	struct env *e = net_env(true);
	uint8_t *buf = fg_ptr(&e->g, FAKE_BUF);
	uint8_t frame[52];

	CHECK(e->vdev->host_features & (1ull << VIRTIO_NET_F_MRG_RXBUF));
	start(e, e->vdev->host_features);
	/* a 12-byte header and 40 bytes of frame, into 20-byte buffers: 20 + 20 + 12 */
	memset(frame, 0, 12);
	frame[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	for (unsigned i = 12; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	memcpy(e->pkt, frame, sizeof(frame));
	e->pkt_len = sizeof(frame);
	memset(buf, 0xee, 192);
	for (unsigned i = 0; i < 3; i++)
		fg_desc(&e->g, FAKE_DESC, i, FAKE_BUF + 64 * i, 20, VRING_DESC_F_WRITE, 0);
	/* two buffers are not enough: nothing is used, the frame waits, the fd is not watched */
	fg_avail(&e->g, 0);
	fg_avail(&e->g, 1);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 0);
	CHECK_EQ(e->pkt_len, -1); /* read from the backend already */
	CHECK_EQ(e->watching, 0);
	/* a third one: all three published at once, num_buffers = 3 */
	fg_avail(&e->g, 2);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 3);
	CHECK_EQ(fg_used(&e->g, 0).id, 0);
	CHECK_EQ(fg_used(&e->g, 0).len, 20);
	CHECK_EQ(fg_used(&e->g, 1).len, 20);
	CHECK_EQ(fg_used(&e->g, 2).id, 2);
	CHECK_EQ(fg_used(&e->g, 2).len, 12);
	CHECK_EQ(buf[0], VIRTIO_NET_HDR_F_DATA_VALID);
	CHECK_EQ(buf[10], 3);
	CHECK_EQ(buf[11], 0);
	CHECK(memcmp(buf + 12, frame + 12, 8) == 0);
	CHECK(memcmp(buf + 64, frame + 20, 20) == 0);
	CHECK(memcmp(buf + 128, frame + 40, 12) == 0);
	CHECK_EQ(buf[128 + 12], 0xee); /* nothing past the frame */
	CHECK_EQ(e->irqs[0], 1);
	CHECK_EQ(e->watching, 0); /* every buffer used: wait for the next kick */
	env_free(e);
}

TEST(net_dp_takes_queues_at_driver_ok_and_gives_them_back_on_reset)
{
	struct env *e = dp_env();

	start(e, e->vdev->host_features);
	CHECK_EQ(e->dp_starts, 1);
	CHECK(virtio_net_dp_active(e->vdev));
	/* only what the data path handles; the device bits stay with the TAP offloads */
	CHECK_EQ(e->dp_features, (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX));
	CHECK_EQ(e->offload_flags, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	CHECK_EQ(e->dp_vr[0].num, 16);
	CHECK_EQ(e->dp_vr[0].desc_gpa, FAKE_DESC);
	CHECK_EQ(e->dp_vr[1].avail_gpa, Q1_AVAIL);
	CHECK_EQ(e->dp_vr[1].used_gpa, Q1_USED);
	CHECK_EQ(e->dp_vr[0].kick_fd, 100);
	CHECK_EQ(e->dp_vr[1].kick_fd, 101);
	CHECK(e->fd_taken[0] && e->fd_taken[1]);
	CHECK(!e->watching); /* the kernel reads the TAP */
	/* a kick that reaches the model anyway moves nothing: the kernel owns the ring */
	fg_desc(&e->g, Q1_DESC, 0, FAKE_BUF, 20, 0, 0);
	q1_avail(e, 0);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 0);
	CHECK_EQ(q1_used_idx(e), 0);
	/* the kernel's "used" eventfds are the queues' interrupts */
	CHECK_EQ(e->irqfd[0], 200);
	CHECK_EQ(e->irqfd[1], 201);
	/* reset: stopped, notification eventfds back to the transport, interrupt eventfds unbound
	 */
	virtio_dev_set_status(e->vdev, 0);
	CHECK_EQ(e->dp_stops, 1);
	CHECK_EQ(e->fd_returns, 2);
	CHECK_EQ(e->irqfd[0], -1);
	CHECK_EQ(e->irqfd[1], -1);
	CHECK(!virtio_net_dp_active(e->vdev));
	env_free(e);
}

TEST(net_dp_refused_falls_back_to_userspace)
{
	struct env *e = dp_env();

	e->dp_start_rc = -EINVAL;
	start(e, e->vdev->host_features);
	CHECK(!virtio_net_dp_active(e->vdev));
	CHECK_EQ(e->fd_returns, 2);
	CHECK_EQ(e->irqfd[1], -1);
	CHECK(e->watching);
	fg_desc(&e->g, Q1_DESC, 0, FAKE_BUF, 20, 0, 0);
	q1_avail(e, 0);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 1);
	CHECK_EQ(q1_used_idx(e), 1);
	env_free(e);
}

TEST(net_dp_save_reads_kernel_indexes_and_load_resumes_there)
{
	struct env *e = dp_env(), *f = dp_env();
	struct state_writer w;
	struct state_reader r;

	start(e, e->vdev->host_features);
	/* the kernel took 5 rx and 9 tx chains and completed them */
	e->dp_stop_idx[0] = 5;
	e->dp_stop_idx[1] = 9;
	((uint16_t *)fg_ptr(&e->g, FAKE_USED))[1] = 5;
	((uint16_t *)fg_ptr(&e->g, Q1_USED))[1] = 9;
	state_writer_init(&w);
	virtio_dev_save(e->vdev, &w);
	CHECK_EQ(state_writer_error(&w), 0);
	CHECK_EQ(e->vdev->vqs[0].last_avail_idx, 5);
	CHECK_EQ(e->vdev->vqs[1].last_avail_idx, 9);
	CHECK_EQ(e->vdev->vqs[1].used_idx, 9);
	/* stopped to read them, then started again where it was */
	CHECK_EQ(e->dp_stops, 1);
	CHECK_EQ(e->dp_starts, 2);
	CHECK_EQ(e->dp_vr[1].last_avail_idx, 9);
	CHECK(virtio_net_dp_active(e->vdev));
	/* a fresh device loads it and hands the kernel the same positions */
	f->vdev->transport.queue_fd = queue_fd;
	f->vdev->transport.queue_irqfd = queue_irqfd;
	f->vdev->transport.interrupt = on_irq;
	f->vdev->transport.opaque = f;
	state_reader_init(&r, w.buf, w.len);
	CHECK_EQ(virtio_dev_load(f->vdev, &r), 0);
	CHECK_EQ(f->offload_flags, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6); /* the TAP set up again */
	CHECK_EQ(f->dp_starts, 1);
	CHECK_EQ(f->dp_vr[0].last_avail_idx, 5);
	CHECK_EQ(f->dp_vr[1].last_avail_idx, 9);
	CHECK_EQ(f->dp_vr[1].used_gpa, Q1_USED);
	CHECK_EQ(f->irqfd[1], 201);
	CHECK(virtio_net_dp_active(f->vdev));
	state_writer_free(&w);
	env_free(e);
	env_free(f);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(net_config_and_features)
	HARNESS_T(net_tx_with_vnet_hdr_passes_header)
	HARNESS_T(net_tx_without_vnet_hdr_strips_header)
	HARNESS_T(net_tx_yields_to_the_event_loop)
	HARNESS_T(net_rx_and_flow_control)
	HARNESS_T(net_rx_buffer_too_small)
	HARNESS_T(net_rx_mergeable_spreads_a_frame_over_chains)
	HARNESS_T(net_dp_takes_queues_at_driver_ok_and_gives_them_back_on_reset)
	HARNESS_T(net_dp_refused_falls_back_to_userspace)
	HARNESS_T(net_dp_save_reads_kernel_indexes_and_load_resumes_there)
	HARNESS_T(console_input_pulled_into_buffers)
	HARNESS_T(rng_fills_buffers)
)
// clang-format on
