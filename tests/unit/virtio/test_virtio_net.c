/* test_virtio_net.c — virtio-net rx/tx with and without a vnet header or MRG_RXBUF, flow control,
 * offloads, hostile receive and transmit rings, the in-kernel data path hand-over. */
#include <errno.h>
#include <stdlib.h>

#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "harness.h"
#include "virtio/virtio_net.h"
#include "vq_fake.h"

struct env {
	struct fake_guest g;
	struct virtio_dev *vdev;
	bool vnet_hdr;
	uint8_t pkt[2048];
	ssize_t pkt_len; /* pending host packet, or -1 */
	struct {
		uint8_t data[2048];
		size_t len;
	} later[4]; /* host packets behind pkt, in order */
	unsigned nr_later;
	uint8_t sent[4096];
	size_t sent_len;
	unsigned tx_calls, offload_flags, irqs[2], config_irqs;
	unsigned irqs_at_tx[4]; /* transmit interrupts already sent when writev call i came */
	int watching;
	bool refill; /* writev re-posts the chain, like a guest that never stops */
	bool answer; /* writev leaves a 60-byte frame for the guest, as a host TCP stack's ACK */
	unsigned requeues;
	unsigned timed[2]; /* requeue_after per queue */
	uint64_t wait_ns[2];
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

static ssize_t be_readv(void *o, const struct iovec *iov, int n)
{
	struct env *e = o;
	size_t done;

	if (e->pkt_len < 0)
		return -EAGAIN;
	done = virtq_buf_to_iov(iov, (unsigned)n, 0, e->pkt, (size_t)e->pkt_len);
	e->pkt_len = -1;
	if (e->nr_later) {
		memcpy(e->pkt, e->later[0].data, e->later[0].len);
		e->pkt_len = (ssize_t)e->later[0].len;
		memmove(e->later, e->later + 1, --e->nr_later * sizeof(e->later[0]));
	}
	return (ssize_t)done;
}

static ssize_t be_writev(void *o, const struct iovec *iov, int n)
{
	struct env *e = o;

	if (e->tx_calls < 4)
		e->irqs_at_tx[e->tx_calls] = e->irqs[1];
	e->tx_calls++;
	if (e->refill)
		fg_q1_avail(&e->g, 0);
	if (e->answer && e->pkt_len < 0) {
		memset(e->pkt, 0, 12);
		memset(e->pkt + 12, 0xac, 48);
		e->pkt_len = 60;
	}
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
	else if (q == -1)
		((struct env *)o)->config_irqs++;
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

/* the driver brings the device up with @features: rx on the FAKE_* rings, tx on FAKE_Q1_* */
static void start(struct env *e, uint64_t features)
{
	struct virtio_transport t = e->vdev->transport; /* a test's requeue hook stays */

	t.interrupt = on_irq;
	t.queue_fd = queue_fd;
	t.queue_irqfd = queue_irqfd;
	t.opaque = e;
	fg_start_dev(e->vdev, &t, features);
}

static struct env *net_env(bool vnet_hdr)
{
	struct env *e = calloc(1, sizeof(*e));
	struct virtio_net_backend be = { e, vnet_hdr, be_offload, be_readv, be_writev, be_watch };
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

	e->pkt_len = -1;
	e->vnet_hdr = vnet_hdr;
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

static bool on_requeue_after(void *o, struct virtio_dev *vdev, unsigned q, uint64_t ns)
{
	struct env *e = o;

	(void)vdev;
	if (q < 2) {
		e->timed[q]++;
		e->wait_ns[q] = ns;
	}
	return true;
}

/* ---- hostile rings: helpers -------------------------------------------------------------- */

#define GUARD 0xa5
#define NO_MRG (~(1ull << VIRTIO_NET_F_MRG_RXBUF))
#define NEEDS_RESET(e) ((e)->vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET)

/*
 * The host has a frame for the guest that reaches it as @len bytes: a 12-byte header (zero)
 * and byte i = @seed + i after it. A backend without vnet header gives only the part after it.
 */
static void host_frame(struct env *e, size_t len, uint8_t seed)
{
	uint8_t *d = e->pkt_len < 0 ? e->pkt : e->later[e->nr_later].data;
	size_t hdr = e->vnet_hdr ? 12 : 0;

	memset(d, 0, hdr);
	for (size_t i = 12; i < len; i++)
		d[i - 12 + hdr] = (uint8_t)(seed + i);
	if (e->pkt_len < 0)
		e->pkt_len = (ssize_t)(len - 12 + hdr);
	else
		e->later[e->nr_later++].len = len - 12 + hdr;
}

/* Does guest memory from @gpa on hold bytes [@from, @to) of the frame host_frame(.., @seed) made
 * (header bytes not compared)? */
static bool frame_at(struct env *e, uint64_t gpa, size_t from, size_t to, uint8_t seed)
{
	const uint8_t *p = fg_ptr(&e->g, gpa);

	for (size_t i = from < 12 ? 12 : from; i < to; i++)
		if (p[i - from] != (uint8_t)(seed + i))
			return false;
	return true;
}

/* Every buffer byte the tests use starts as GUARD; guard_intact says no byte of a range changed. */
static void guard_fill(struct env *e)
{
	memset(fg_ptr(&e->g, FAKE_BUF), GUARD, 0x20000);
}

static bool guard_intact(struct env *e, uint64_t gpa, size_t len)
{
	const uint8_t *p = fg_ptr(&e->g, gpa);

	for (size_t i = 0; i < len; i++)
		if (p[i] != GUARD)
			return false;
	return true;
}

/* num_buffers of the header the device wrote at @gpa */
static uint16_t num_buffers_at(struct env *e, uint64_t gpa)
{
	uint16_t n;

	memcpy(&n, fg_ptr(&e->g, gpa + offsetof(struct virtio_net_hdr_v1, num_buffers)), 2);
	return n;
}

/* The driver resets the device and sets it up again with empty rings. */
static void restart(struct env *e, uint64_t features)
{
	virtio_dev_set_status(e->vdev, 0);
	memset(fg_ptr(&e->g, FAKE_AVAIL), 0, 0x2000);
	memset(fg_ptr(&e->g, FAKE_Q1_AVAIL), 0, 0x2000);
	e->g.avail_idx = 0;
	e->g.q1_avail_idx = 0;
	start(e, features);
}

/* A malformed receive or transmit queue: NEEDS_RESET, one configuration interrupt, nothing used. */
static void check_broken(struct env *e, unsigned q)
{
	CHECK(NEEDS_RESET(e));
	CHECK(!virtio_dev_running(e->vdev));
	CHECK_EQ(e->config_irqs, 1);
	CHECK_EQ(q ? fg_q1_used_idx(&e->g) : fg_used_idx(&e->g), 0);
	CHECK_EQ(e->irqs[q], 0);
}

/* ---- rate limiters ------------------------------------------------------------------------ */

static void tx_one(struct env *e, uint16_t len)
{
	fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 12 + len, 0, 0);
	fg_q1_avail(&e->g, 0);
	virtio_dev_kick(e->vdev, 1);
}

/* tx_rate_limiter: frame bytes (after the header) and frames; a held frame waits on the ring. */
TEST(net_tx_rate_limiter_holds_frames_back_until_the_bucket_refills)
{
	struct env *e = net_env(true);
	struct rate_limit_config none = { 0 };
	struct rate_limit_config tx = { .bandwidth = { .size = 1000, .refill_time_ms = 10000 } };

	e->vdev->transport.requeue = on_requeue;
	e->vdev->transport.requeue_after = on_requeue_after;
	start(e, e->vdev->host_features);
	CHECK_EQ(virtio_net_set_rate_limit(e->vdev, &none, &tx), 0);
	tx_one(e, 600);
	CHECK_EQ(e->tx_calls, 1);
	tx_one(e, 600); /* 400 left, 600 asked: 2 s */
	CHECK_EQ(e->tx_calls, 1);
	CHECK_EQ(fg_q1_used_idx(&e->g), 1);
	CHECK_EQ(e->timed[1], 1);
	CHECK(e->wait_ns[1] > 1900000000ull && e->wait_ns[1] <= 2000000000ull);
	/* lifting it: the transport runs both queues, the frame goes */
	CHECK_EQ(virtio_net_set_rate_limit(e->vdev, &none, &none), 0);
	CHECK_EQ(e->requeues, 4); /* rx and tx, at each of the two calls */
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 2);
	CHECK_EQ(fg_q1_used_idx(&e->g), 2);
	env_free(e);
}

/*
 * rx_rate_limiter: a frame is charged once read, so the next waits for the debt to be paid;
 * meanwhile the TAP is not watched (no busy loop) and the timer runs the queue again.
 */
static void check_rx_limit(uint64_t features)
{
	struct env *e = net_env(true);
	struct rate_limit_config none = { 0 };
	struct rate_limit_config rx = { .bandwidth = { .size = 100, .refill_time_ms = 10000 } };

	e->vdev->transport.requeue = on_requeue;
	e->vdev->transport.requeue_after = on_requeue_after;
	start(e, e->vdev->host_features & features);
	CHECK_EQ(virtio_net_set_rate_limit(e->vdev, &rx, &none), 0);
	for (uint16_t i = 0; i < 4; i++)
		fg_desc(&e->g, FAKE_DESC, i, FAKE_BUF + i * 0x1000u, 0x1000, VRING_DESC_F_WRITE, 0);
	for (uint16_t i = 0; i < 4; i++)
		fg_avail(&e->g, i);
	host_frame(e, 312, 1); /* 300 bytes after the header: 200 owed */
	host_frame(e, 72, 2);
	virtio_net_rx_ready(e->vdev);
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(e->watching, 0);
	CHECK_EQ(e->timed[0], 1);
	/* 200 owed at 100 per 10 s: 20 s */
	CHECK(e->wait_ns[0] > 19000000000ull && e->wait_ns[0] <= 20000000000ull);
	CHECK(e->pkt_len > 0); /* the second frame stays in the TAP */
	/* the timer's run of the queue (here: the limit lifted) takes it */
	CHECK_EQ(virtio_net_set_rate_limit(e->vdev, &none, &none), 0);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 2);
	CHECK_EQ(e->watching, 1);
	CHECK(frame_at(e, FAKE_BUF + 0x1000, 0, 72, 2));
	env_free(e);
}

TEST(net_rx_rate_limiter_waits_out_the_debt_of_the_last_frame)
{
	check_rx_limit(~0ull);
	check_rx_limit(NO_MRG);
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
	fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 12, VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, FAKE_Q1_DESC, 1, FAKE_BUF + 12, 10, 0, 0);
	fg_q1_avail(&e->g, 0);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 1);
	CHECK_EQ(e->sent_len, 22);
	CHECK_EQ(e->sent[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(fg_q1_used_idx(&e->g), 1);
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
	fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 17, 0, 0);
	fg_q1_avail(&e->g, 0);
	/* too short for the header: dropped, returned, counted */
	fg_desc(&e->g, FAKE_Q1_DESC, 1, FAKE_BUF, 4, 0, 0);
	fg_q1_avail(&e->g, 1);
	/* a writable buffer on the transmit queue */
	fg_desc(&e->g, FAKE_Q1_DESC, 2, FAKE_BUF, 40, VRING_DESC_F_WRITE, 0);
	fg_q1_avail(&e->g, 2);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 1);
	CHECK_EQ(e->sent_len, 5);
	CHECK(memcmp(e->sent, "frame", 5) == 0);
	CHECK_EQ(fg_q1_used_idx(&e->g), 3);
	virtio_net_get_stats(e->vdev, &st);
	CHECK_EQ(st.tx_packets, 1);
	CHECK_EQ(st.tx_dropped, 2);
	env_free(e);
}

/*
 * With EVENT_IDX the transmit interrupt goes out as soon as a used chain crosses the driver's
 * used_event, before the next chain is sent (as QEMU does): the guest frees its buffers, and
 * TCP's small-queue budget, while the device still works through the ring.
 */
TEST(net_tx_interrupts_when_used_event_is_crossed_not_at_the_end)
{
	struct env *e = net_env(true);
	uint16_t *used_event;

	start(e, e->vdev->host_features);
	CHECK(virtio_dev_has(e->vdev, VIRTIO_RING_F_EVENT_IDX));
	used_event = (uint16_t *)fg_ptr(&e->g, FAKE_Q1_AVAIL) + 2 + 16;
	for (uint16_t d = 0; d < 6; d++)
		fg_desc(&e->g, FAKE_Q1_DESC, d, FAKE_BUF + 64 * d, 20, 0, 0);
	/* used_event 0: the first used chain crosses it */
	*used_event = 0;
	for (uint16_t d = 0; d < 3; d++)
		fg_q1_avail(&e->g, d);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 3);
	CHECK_EQ(e->irqs[1], 1);
	CHECK_EQ(e->irqs_at_tx[0], 0);
	CHECK_EQ(e->irqs_at_tx[1], 1); /* sent before chain 1 went out */
	/* used_event 4: crossed by the second chain of the next three (used index 5) */
	*used_event = 4;
	e->tx_calls = 0;
	for (uint16_t d = 3; d < 6; d++)
		fg_q1_avail(&e->g, d);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 3);
	CHECK_EQ(fg_q1_used_idx(&e->g), 6);
	CHECK_EQ(e->irqs[1], 2);
	CHECK_EQ(e->irqs_at_tx[1], 1);
	CHECK_EQ(e->irqs_at_tx[2], 2); /* sent before the third chain went out */
	env_free(e);
}

/*
 * The host may answer a frame while it is being written (a TCP ACK from the host's own stack):
 * the transmit kick hands that answer to the guest at once, not after another pass of the event
 * loop. Frames sent in one walk get one pass over the receive side after it.
 */
TEST(net_tx_kick_delivers_the_hosts_answer_at_once)
{
	struct env *e = net_env(true);
	const uint8_t *rx = fg_ptr(&e->g, FAKE_BUF + 0x1000);

	start(e, e->vdev->host_features);
	CHECK_EQ(e->watching, 1);
	for (uint16_t d = 0; d < 2; d++) {
		fg_desc(&e->g, FAKE_DESC, d, FAKE_BUF + 0x1000 + 0x800 * d, 0x800,
			VRING_DESC_F_WRITE, 0);
		fg_avail(&e->g, d);
	}
	fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 40, 0, 0);
	fg_q1_avail(&e->g, 0);
	e->answer = true;
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 1);
	CHECK_EQ(fg_q1_used_idx(&e->g), 1);
	/* no virtio_net_rx_ready: the answer is in the guest's first receive buffer already */
	CHECK_EQ(fg_used_idx(&e->g), 1);
	CHECK_EQ(fg_used(&e->g, 0).len, 60);
	CHECK_EQ(rx[12], 0xac);
	CHECK_EQ(rx[59], 0xac);
	CHECK_EQ(e->pkt_len, -1);
	CHECK(e->irqs[0] >= 1);
	env_free(e);
}

TEST(net_tx_yields_to_the_event_loop)
{
	struct env *e = net_env(true);

	start(e, e->vdev->host_features);
	e->vdev->transport.requeue = on_requeue;
	fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 20, 0, 0);
	fg_q1_avail(&e->g, 0);
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
	CHECK_EQ(e->dp_vr[1].avail_gpa, FAKE_Q1_AVAIL);
	CHECK_EQ(e->dp_vr[1].used_gpa, FAKE_Q1_USED);
	CHECK_EQ(e->dp_vr[0].kick_fd, 100);
	CHECK_EQ(e->dp_vr[1].kick_fd, 101);
	CHECK(e->fd_taken[0] && e->fd_taken[1]);
	CHECK(!e->watching); /* the kernel reads the TAP */
	/* a kick that reaches the model anyway moves nothing: the kernel owns the ring */
	fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 20, 0, 0);
	fg_q1_avail(&e->g, 0);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 0);
	CHECK_EQ(fg_q1_used_idx(&e->g), 0);
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
	fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 20, 0, 0);
	fg_q1_avail(&e->g, 0);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 1);
	CHECK_EQ(fg_q1_used_idx(&e->g), 1);
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
	((uint16_t *)fg_ptr(&e->g, FAKE_Q1_USED))[1] = 9;
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
	CHECK_EQ(f->dp_vr[1].used_gpa, FAKE_Q1_USED);
	CHECK_EQ(f->irqfd[1], 201);
	CHECK(virtio_net_dp_active(f->vdev));
	state_writer_free(&w);
	env_free(e);
	env_free(f);
}

/* ---- hostile receive and transmit chains ------------------------------------------------- */

static uint64_t q_desc(unsigned q)
{
	return q ? FAKE_Q1_DESC : FAKE_DESC;
}

/* the direction a well-formed chain of queue @q has: writable for receive, readable for transmit */
static uint16_t q_dir(unsigned q)
{
	return q ? 0 : VRING_DESC_F_WRITE;
}

static void q_post(struct env *e, unsigned q, uint16_t head)
{
	if (q)
		fg_q1_avail(&e->g, head);
	else
		fg_avail(&e->g, head);
}

static void bad_buffer_past_ram(struct env *e, unsigned q)
{
	fg_desc(&e->g, q_desc(q), 0, FAKE_RAM_GPA + FAKE_RAM_LEN - 8, 64, q_dir(q), 0);
	q_post(e, q, 0);
}

static void bad_buffer_wrapping_2_64(struct env *e, unsigned q)
{
	fg_desc(&e->g, q_desc(q), 0, 0xfffffffffffffff0ull, 0x20, q_dir(q), 0);
	q_post(e, q, 0);
}

static void bad_descriptor_loop(struct env *e, unsigned q)
{
	fg_desc(&e->g, q_desc(q), 0, FAKE_BUF, 64, q_dir(q) | VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, q_desc(q), 1, FAKE_BUF + 0x100, 64, q_dir(q) | VRING_DESC_F_NEXT, 0);
	q_post(e, q, 0);
}

static void bad_readable_after_writable(struct env *e, unsigned q)
{
	fg_desc(&e->g, q_desc(q), 0, FAKE_BUF, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, q_desc(q), 1, FAKE_BUF + 0x100, 64, 0, 0);
	q_post(e, q, 0);
}

/* one well-formed chain, then the avail idx 17 ahead on a 16-entry queue */
static void bad_avail_idx_jump(struct env *e, unsigned q)
{
	fg_desc(&e->g, q_desc(q), 0, FAKE_BUF, 64, q_dir(q), 0);
	if (q) {
		e->g.q1_avail_idx = 17;
		((uint16_t *)fg_ptr(&e->g, FAKE_Q1_AVAIL))[1] = 17;
	} else {
		fg_set_avail_idx(&e->g, 17);
	}
}

/*
 * A receive queue made malformed by @make, with and without MRG_RXBUF: NEEDS_RESET and
 * nothing used or written outside the chain's buffers; kicks are ignored until the driver
 * resets the device; then a well-formed chain receives a frame.
 */
static void check_rx_malformed(void (*make)(struct env *e, unsigned q))
{
	for (int merged = 0; merged < 2; merged++) {
		struct env *e = net_env(true);
		uint64_t f = merged ? e->vdev->host_features : e->vdev->host_features & NO_MRG;

		start(e, f);
		guard_fill(e);
		host_frame(e, 30, 1);
		make(e, 0);
		virtio_dev_kick(e->vdev, 0);
		check_broken(e, 0);
		/* without MRG_RXBUF the frame waits in the backend; with it, it was read ahead */
		CHECK_EQ(e->pkt_len,
			 merged ? -1 : 30); /* vnet header: the host frame is 30 bytes */
		CHECK(guard_intact(e, FAKE_BUF + 0x200, 0x1000));
		virtio_dev_kick(e->vdev, 0);
		virtio_net_rx_ready(e->vdev);
		CHECK_EQ(fg_used_idx(&e->g), 0);
		CHECK_EQ(e->config_irqs, 1);

		restart(e, f);
		CHECK(!NEEDS_RESET(e));
		if (e->pkt_len < 0)
			host_frame(e, 30, 1);
		fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF + 0x1000, 64, VRING_DESC_F_WRITE, 0);
		fg_avail(&e->g, 0);
		virtio_dev_kick(e->vdev, 0);
		CHECK_EQ(fg_used_idx(&e->g), 1);
		CHECK_EQ(fg_used(&e->g, 0).len, 30);
		CHECK_EQ(num_buffers_at(e, FAKE_BUF + 0x1000), 1);
		CHECK(frame_at(e, FAKE_BUF + 0x1000, 0, 30, 1));
		CHECK(guard_intact(e, FAKE_BUF + 0x1000 + 30, 0x100));
		env_free(e);
	}
}

TEST(net_rx_buffer_past_ram_needs_reset)
{
	check_rx_malformed(bad_buffer_past_ram);
}

TEST(net_rx_buffer_wrapping_2_64_needs_reset)
{
	check_rx_malformed(bad_buffer_wrapping_2_64);
}

TEST(net_rx_descriptor_loop_needs_reset)
{
	check_rx_malformed(bad_descriptor_loop);
}

TEST(net_rx_readable_after_writable_needs_reset)
{
	check_rx_malformed(bad_readable_after_writable);
}

TEST(net_rx_avail_idx_jump_needs_reset)
{
	check_rx_malformed(bad_avail_idx_jump);
}

/* The transmit queue made malformed by @make: NEEDS_RESET, nothing sent; after a reset it works. */
static void check_tx_malformed(void (*make)(struct env *e, unsigned q))
{
	for (int vnet = 0; vnet < 2; vnet++) {
		struct env *e = net_env(vnet);
		uint64_t f = e->vdev->host_features;

		start(e, f);
		make(e, 1);
		virtio_dev_kick(e->vdev, 1);
		check_broken(e, 1);
		CHECK_EQ(e->tx_calls, 0);
		virtio_dev_kick(e->vdev, 1);
		CHECK_EQ(e->tx_calls, 0);
		CHECK_EQ(e->config_irqs, 1);

		restart(e, f);
		memset(fg_ptr(&e->g, FAKE_BUF + 0x1000), 0, 12);
		memcpy(fg_ptr(&e->g, FAKE_BUF + 0x1000 + 12), "frame-data", 10);
		fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF + 0x1000, 22, 0, 0);
		fg_q1_avail(&e->g, 0);
		virtio_dev_kick(e->vdev, 1);
		CHECK_EQ(e->tx_calls, 1);
		CHECK_EQ(e->sent_len, vnet ? 22 : 10);
		CHECK(memcmp(e->sent + (vnet ? 12 : 0), "frame-data", 10) == 0);
		CHECK_EQ(fg_q1_used_idx(&e->g), 1);
		env_free(e);
	}
}

TEST(net_tx_buffer_past_ram_needs_reset)
{
	check_tx_malformed(bad_buffer_past_ram);
}

TEST(net_tx_buffer_wrapping_2_64_needs_reset)
{
	check_tx_malformed(bad_buffer_wrapping_2_64);
}

TEST(net_tx_descriptor_loop_needs_reset)
{
	check_tx_malformed(bad_descriptor_loop);
}

TEST(net_tx_readable_after_writable_needs_reset)
{
	check_tx_malformed(bad_readable_after_writable);
}

TEST(net_tx_avail_idx_jump_needs_reset)
{
	check_tx_malformed(bad_avail_idx_jump);
}

/* with and without MRG_RXBUF: a chain with a device-readable descriptor is returned empty, the
 * frame goes into the next usable chain */
TEST(net_rx_returns_chain_with_readable_descriptor_unused)
{
	for (int merged = 0; merged < 2; merged++) {
		struct env *e = net_env(true);
		uint64_t f = e->vdev->host_features;

		start(e, merged ? f : f & NO_MRG);
		guard_fill(e);
		host_frame(e, 30, 1);
		/* chain 0: readable only; chain 1: readable then writable; chain 3: writable */
		fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 64, 0, 0);
		fg_desc(&e->g, FAKE_DESC, 1, FAKE_BUF + 0x100, 12, VRING_DESC_F_NEXT, 2);
		fg_desc(&e->g, FAKE_DESC, 2, FAKE_BUF + 0x200, 64, VRING_DESC_F_WRITE, 0);
		fg_desc(&e->g, FAKE_DESC, 3, FAKE_BUF + 0x300, 64, VRING_DESC_F_WRITE, 0);
		fg_avail(&e->g, 0);
		fg_avail(&e->g, 1);
		fg_avail(&e->g, 3);
		virtio_dev_kick(e->vdev, 0);
		CHECK(!NEEDS_RESET(e));
		CHECK_EQ(fg_used_idx(&e->g), 3);
		CHECK_EQ(fg_used(&e->g, 0).id, 0);
		CHECK_EQ(fg_used(&e->g, 0).len, 0);
		CHECK_EQ(fg_used(&e->g, 1).id, 1);
		CHECK_EQ(fg_used(&e->g, 1).len, 0);
		CHECK_EQ(fg_used(&e->g, 2).id, 3);
		CHECK_EQ(fg_used(&e->g, 2).len, 30);
		CHECK(guard_intact(e, FAKE_BUF, 0x300));
		CHECK_EQ(num_buffers_at(e, FAKE_BUF + 0x300), 1);
		CHECK(frame_at(e, FAKE_BUF + 0x300, 0, 30, 1));
		CHECK(guard_intact(e, FAKE_BUF + 0x300 + 30, 0x100));
		CHECK_EQ(e->irqs[0], 1);
		env_free(e);
	}
}

/* the 12-byte header spread over a 5- and a 7-byte descriptor, the frame in a third */
TEST(net_rx_header_split_across_descriptors)
{
	for (int mode = 0; mode < 4; mode++) {
		bool merged = mode & 1, vnet = mode & 2;
		struct env *e = net_env(vnet);
		uint64_t f = e->vdev->host_features;
		const uint8_t zero[5] = { 0 };

		start(e, merged ? f : f & NO_MRG);
		guard_fill(e);
		host_frame(e, 30, 3);
		fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 5, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			1);
		fg_desc(&e->g, FAKE_DESC, 1, FAKE_BUF + 0x100, 7,
			VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
		fg_desc(&e->g, FAKE_DESC, 2, FAKE_BUF + 0x200, 64, VRING_DESC_F_WRITE, 0);
		fg_avail(&e->g, 0);
		virtio_dev_kick(e->vdev, 0);
		CHECK_EQ(fg_used_idx(&e->g), 1);
		CHECK_EQ(fg_used(&e->g, 0).len, 30);
		CHECK(memcmp(fg_ptr(&e->g, FAKE_BUF), zero, 5) == 0);
		CHECK(memcmp(fg_ptr(&e->g, FAKE_BUF + 0x100), zero, 5) == 0);
		CHECK_EQ(num_buffers_at(e, FAKE_BUF + 0x100 - 5), 1); /* header bytes 10-11 */
		CHECK(frame_at(e, FAKE_BUF + 0x200, 12, 30, 3));
		CHECK(guard_intact(e, FAKE_BUF + 5, 0x100 - 5));
		CHECK(guard_intact(e, FAKE_BUF + 0x107, 0x100 - 7));
		CHECK(guard_intact(e, FAKE_BUF + 0x200 + 18, 0x100));
		env_free(e);
	}
}

/* without MRG_RXBUF a frame longer than the chain is cut to it (as the TAP does): used.len never
 * exceeds what the chain can hold */
TEST(net_rx_frame_cut_to_a_small_chain)
{
	for (int vnet = 0; vnet < 2; vnet++) {
		struct env *e = net_env(vnet);

		start(e, e->vdev->host_features & NO_MRG);
		guard_fill(e);
		host_frame(e, 100, 5);
		fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 40, VRING_DESC_F_WRITE, 0);
		fg_avail(&e->g, 0);
		virtio_dev_kick(e->vdev, 0);
		CHECK_EQ(fg_used_idx(&e->g), 1);
		CHECK_EQ(fg_used(&e->g, 0).len, 40);
		CHECK_EQ(num_buffers_at(e, FAKE_BUF), 1);
		CHECK(frame_at(e, FAKE_BUF, 0, 40, 5));
		CHECK(guard_intact(e, FAKE_BUF + 40, 0x100));
		env_free(e);
	}
}

/*
 * MRG_RXBUF: a readable chain among the chains a frame waits in is returned once, with the
 * frame, and every chain the frame took is published (none lost, none used twice).
 */
TEST(net_rx_mrg_unusable_chain_amid_frame_returned_once)
{
	struct env *e = net_env(true);

	start(e, e->vdev->host_features);
	guard_fill(e);
	host_frame(e, 52, 9); /* needs three 20-byte chains */
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 20, VRING_DESC_F_WRITE, 0);
	fg_desc(&e->g, FAKE_DESC, 1, FAKE_BUF + 0x100, 20, 0, 0); /* readable */
	fg_desc(&e->g, FAKE_DESC, 2, FAKE_BUF + 0x200, 20, VRING_DESC_F_WRITE, 0);
	fg_desc(&e->g, FAKE_DESC, 3, FAKE_BUF + 0x300, 20, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 0);
	fg_avail(&e->g, 1);
	virtio_dev_kick(e->vdev, 0);
	/* one usable chain: the frame waits, nothing is published */
	CHECK_EQ(fg_used_idx(&e->g), 0);
	fg_avail(&e->g, 2);
	fg_avail(&e->g, 3);
	virtio_dev_kick(e->vdev, 0);
	REQUIRE(fg_used_idx(&e->g) == 4);
	CHECK_EQ(fg_used(&e->g, 0).id, 1);
	CHECK_EQ(fg_used(&e->g, 0).len, 0);
	CHECK_EQ(fg_used(&e->g, 1).id, 0);
	CHECK_EQ(fg_used(&e->g, 1).len, 20);
	CHECK_EQ(fg_used(&e->g, 2).id, 2);
	CHECK_EQ(fg_used(&e->g, 2).len, 20);
	CHECK_EQ(fg_used(&e->g, 3).id, 3);
	CHECK_EQ(fg_used(&e->g, 3).len, 12);
	CHECK_EQ(num_buffers_at(e, FAKE_BUF), 3);
	CHECK(frame_at(e, FAKE_BUF, 0, 20, 9));
	CHECK(frame_at(e, FAKE_BUF + 0x200, 20, 40, 9));
	CHECK(frame_at(e, FAKE_BUF + 0x300, 40, 52, 9));
	CHECK(guard_intact(e, FAKE_BUF + 0x100, 0x100));
	CHECK(guard_intact(e, FAKE_BUF + 0x300 + 12, 0x100));
	/* nothing more: the device holds no chain and no frame */
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 4);
	CHECK_EQ(e->vdev->vqs[0].last_avail_idx, 4);
	env_free(e);
}

/* MRG_RXBUF: a malformed chain after the first chain of a frame: NEEDS_RESET, nothing published */
TEST(net_rx_mrg_bad_chain_amid_frame_publishes_nothing)
{
	struct env *e = net_env(true);
	uint64_t f = e->vdev->host_features;

	start(e, f);
	guard_fill(e);
	host_frame(e, 52, 9);
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 20, VRING_DESC_F_WRITE, 0);
	fg_desc(&e->g, FAKE_DESC, 1, FAKE_RAM_GPA + FAKE_RAM_LEN - 4, 20, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 0);
	fg_avail(&e->g, 1);
	virtio_dev_kick(e->vdev, 0);
	check_broken(e, 0);
	/* after a reset, the next frame (not the one cut short) fills fresh chains */
	restart(e, f);
	host_frame(e, 52, 20);
	for (unsigned i = 0; i < 3; i++) {
		fg_desc(&e->g, FAKE_DESC, i, FAKE_BUF + 0x1000 + 0x100 * i, 20, VRING_DESC_F_WRITE,
			0);
		fg_avail(&e->g, (uint16_t)i);
	}
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 3);
	CHECK_EQ(num_buffers_at(e, FAKE_BUF + 0x1000), 3);
	CHECK(frame_at(e, FAKE_BUF + 0x1000, 0, 20, 20));
	CHECK(frame_at(e, FAKE_BUF + 0x1200, 40, 52, 20));
	env_free(e);
}

/* MRG_RXBUF: a frame longer than every posted buffer together is dropped; the buffers stay */
TEST(net_rx_mrg_frame_larger_than_ring_dropped)
{
	struct env *e = net_env(true);
	struct virtio_net_stats st;

	start(e, e->vdev->host_features);
	guard_fill(e);
	host_frame(e, 400, 1); /* 16 chains of 20 bytes hold 320 */
	host_frame(e, 52, 2);
	for (unsigned i = 0; i < 16; i++) {
		fg_desc(&e->g, FAKE_DESC, i, FAKE_BUF + 0x100 * i, 20, VRING_DESC_F_WRITE, 0);
		fg_avail(&e->g, (uint16_t)i);
	}
	virtio_dev_kick(e->vdev, 0);
	virtio_net_get_stats(e->vdev, &st);
	CHECK_EQ(st.rx_dropped, 1);
	CHECK_EQ(st.rx_packets, 1);
	CHECK(!NEEDS_RESET(e));
	/* the next frame went into the first three chains */
	REQUIRE(fg_used_idx(&e->g) == 3);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(fg_used(&e->g, i).id, i);
	CHECK_EQ(fg_used(&e->g, 2).len, 12);
	CHECK_EQ(num_buffers_at(e, FAKE_BUF), 3);
	CHECK(frame_at(e, FAKE_BUF + 0x200, 40, 52, 2));
	/* the dropped frame may have filled the chains (none was published), nothing beside them */
	for (unsigned i = 0; i < 16; i++)
		CHECK(guard_intact(e, FAKE_BUF + 0x100 * i + 20, 0x100 - 20));
	env_free(e);
}

/* MRG_RXBUF with EVENT_IDX: short of buffers, the device asks to be notified past the ones posted
 */
TEST(net_rx_mrg_short_of_buffers_asks_for_notification_past_them)
{
	struct env *e = net_env(true);
	uint16_t *avail_event = fg_ptr(&e->g, FAKE_USED + 4 + 8 * 16);

	start(e, e->vdev->host_features);
	CHECK(e->vdev->vqs[0].event_idx);
	host_frame(e, 52, 1);
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 20, VRING_DESC_F_WRITE, 0);
	fg_desc(&e->g, FAKE_DESC, 1, FAKE_BUF + 0x100, 20, 0, 0); /* unusable */
	fg_desc(&e->g, FAKE_DESC, 2, FAKE_BUF + 0x200, 20, VRING_DESC_F_WRITE, 0);
	fg_avail(&e->g, 0);
	fg_avail(&e->g, 1);
	fg_avail(&e->g, 2);
	virtio_dev_kick(e->vdev, 0);
	CHECK_EQ(fg_used_idx(&e->g), 0);
	CHECK_EQ(e->vdev->vqs[0].last_avail_idx, 0); /* the three chains stay posted */
	CHECK_EQ(*avail_event, 3);
	CHECK_EQ(e->watching, 0);
	env_free(e);
}

/* MRG_RXBUF: a chain too short for the header cannot start a frame but can continue one */
TEST(net_rx_mrg_short_chain_only_continues_a_frame)
{
	struct env *e = net_env(true);

	start(e, e->vdev->host_features);
	guard_fill(e);
	host_frame(e, 24, 4);
	fg_desc(&e->g, FAKE_DESC, 0, FAKE_BUF, 8, VRING_DESC_F_WRITE, 0);
	fg_desc(&e->g, FAKE_DESC, 1, FAKE_BUF + 0x100, 20, VRING_DESC_F_WRITE, 0);
	fg_desc(&e->g, FAKE_DESC, 2, FAKE_BUF + 0x200, 8, VRING_DESC_F_WRITE, 0);
	for (uint16_t i = 0; i < 3; i++)
		fg_avail(&e->g, i);
	virtio_dev_kick(e->vdev, 0);
	REQUIRE(fg_used_idx(&e->g) == 3);
	CHECK_EQ(fg_used(&e->g, 0).id, 0);
	CHECK_EQ(fg_used(&e->g, 0).len, 0);
	CHECK_EQ(fg_used(&e->g, 1).len, 20);
	CHECK_EQ(fg_used(&e->g, 2).len, 4);
	CHECK_EQ(num_buffers_at(e, FAKE_BUF + 0x100), 2);
	CHECK(frame_at(e, FAKE_BUF + 0x200, 20, 24, 4));
	CHECK(guard_intact(e, FAKE_BUF, 8));
	CHECK(guard_intact(e, FAKE_BUF + 0x204, 0x100));
	env_free(e);
}

/* a transmit chain with a device-writable descriptor is dropped unsent, its buffer untouched */
TEST(net_tx_drops_chain_with_writable_descriptor)
{
	struct env *e = net_env(true);
	struct virtio_net_stats st;

	start(e, e->vdev->host_features);
	guard_fill(e);
	memset(fg_ptr(&e->g, FAKE_BUF), 0, 22);
	fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 22, VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, FAKE_Q1_DESC, 1, FAKE_BUF + 0x100, 64, VRING_DESC_F_WRITE, 0);
	fg_desc(&e->g, FAKE_Q1_DESC, 2, FAKE_BUF, 22, 0, 0);
	fg_q1_avail(&e->g, 0);
	fg_q1_avail(&e->g, 2);
	virtio_dev_kick(e->vdev, 1);
	CHECK(!NEEDS_RESET(e));
	CHECK_EQ(e->tx_calls, 1); /* only the second chain */
	CHECK_EQ(e->sent_len, 22);
	CHECK_EQ(fg_q1_used_idx(&e->g), 2);
	CHECK_EQ(fg_q1_used(&e->g, 0).id, 0);
	CHECK_EQ(fg_q1_used(&e->g, 0).len, 0);
	CHECK(guard_intact(e, FAKE_BUF + 0x100, 64));
	virtio_net_get_stats(e->vdev, &st);
	CHECK_EQ(st.tx_dropped, 1);
	CHECK_EQ(st.tx_packets, 1);
	env_free(e);
}

/* 11 bytes in two descriptors cannot hold the header: dropped; 12 bytes (an empty frame) are sent
 */
TEST(net_tx_drops_chain_shorter_than_header)
{
	struct env *e = net_env(true);
	struct virtio_net_stats st;

	start(e, e->vdev->host_features);
	fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 6, VRING_DESC_F_NEXT, 1);
	fg_desc(&e->g, FAKE_Q1_DESC, 1, FAKE_BUF + 0x100, 5, 0, 0);
	fg_desc(&e->g, FAKE_Q1_DESC, 2, FAKE_BUF, 6, VRING_DESC_F_NEXT, 3);
	fg_desc(&e->g, FAKE_Q1_DESC, 3, FAKE_BUF + 0x100, 6, 0, 0);
	fg_q1_avail(&e->g, 0);
	fg_q1_avail(&e->g, 2);
	virtio_dev_kick(e->vdev, 1);
	CHECK_EQ(e->tx_calls, 1);
	CHECK_EQ(e->sent_len, 12);
	CHECK_EQ(fg_q1_used_idx(&e->g), 2);
	virtio_net_get_stats(e->vdev, &st);
	CHECK_EQ(st.tx_dropped, 1);
	env_free(e);
}

/* the largest frame is sent; one byte more and it is dropped, the queue goes on */
TEST(net_tx_drops_oversized_chain)
{
	for (int vnet = 0; vnet < 2; vnet++) {
		struct env *e = net_env(vnet);
		uint32_t max = 12 + 65550;
		struct virtio_net_stats st;

		start(e, e->vdev->host_features);
		fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 12, VRING_DESC_F_NEXT, 1);
		fg_desc(&e->g, FAKE_Q1_DESC, 1, FAKE_BUF + 0x100, max - 12 + 1, 0, 0);
		fg_desc(&e->g, FAKE_Q1_DESC, 2, FAKE_BUF, 12, VRING_DESC_F_NEXT, 3);
		fg_desc(&e->g, FAKE_Q1_DESC, 3, FAKE_BUF + 0x100, max - 12, 0, 0);
		fg_q1_avail(&e->g, 0);
		fg_q1_avail(&e->g, 2);
		virtio_dev_kick(e->vdev, 1);
		CHECK(!NEEDS_RESET(e));
		CHECK_EQ(e->tx_calls, 1);
		CHECK_EQ(fg_q1_used_idx(&e->g), 2);
		virtio_net_get_stats(e->vdev, &st);
		CHECK_EQ(st.tx_dropped, 1);
		CHECK_EQ(st.tx_packets, 1);
		env_free(e);
	}
}

/* the header over two descriptors: without a vnet header only the frame after it is sent */
TEST(net_tx_header_split_across_descriptors)
{
	for (int vnet = 0; vnet < 2; vnet++) {
		struct env *e = net_env(vnet);

		start(e, e->vdev->host_features);
		memset(fg_ptr(&e->g, FAKE_BUF), 0, 4);
		memset(fg_ptr(&e->g, FAKE_BUF + 0x100), 0, 8);
		memcpy(fg_ptr(&e->g, FAKE_BUF + 0x100 + 8), "abc", 3);
		memcpy(fg_ptr(&e->g, FAKE_BUF + 0x200), "frame-data", 10);
		fg_desc(&e->g, FAKE_Q1_DESC, 0, FAKE_BUF, 4, VRING_DESC_F_NEXT, 1);
		fg_desc(&e->g, FAKE_Q1_DESC, 1, FAKE_BUF + 0x100, 11, VRING_DESC_F_NEXT, 2);
		fg_desc(&e->g, FAKE_Q1_DESC, 2, FAKE_BUF + 0x200, 10, 0, 0);
		fg_q1_avail(&e->g, 0);
		virtio_dev_kick(e->vdev, 1);
		CHECK_EQ(e->tx_calls, 1);
		CHECK_EQ(e->sent_len, vnet ? 25 : 13);
		CHECK(memcmp(e->sent + (vnet ? 12 : 0), "abcframe-data", 13) == 0);
		env_free(e);
	}
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(net_config_and_features)
	HARNESS_T(net_tx_with_vnet_hdr_passes_header)
	HARNESS_T(net_tx_without_vnet_hdr_strips_header)
	HARNESS_T(net_tx_interrupts_when_used_event_is_crossed_not_at_the_end)
	HARNESS_T(net_tx_kick_delivers_the_hosts_answer_at_once)
	HARNESS_T(net_tx_yields_to_the_event_loop)
	HARNESS_T(net_rx_and_flow_control)
	HARNESS_T(net_tx_rate_limiter_holds_frames_back_until_the_bucket_refills)
	HARNESS_T(net_rx_rate_limiter_waits_out_the_debt_of_the_last_frame)
	HARNESS_T(net_rx_buffer_too_small)
	HARNESS_T(net_rx_mergeable_spreads_a_frame_over_chains)
	HARNESS_T(net_rx_buffer_past_ram_needs_reset)
	HARNESS_T(net_rx_buffer_wrapping_2_64_needs_reset)
	HARNESS_T(net_rx_descriptor_loop_needs_reset)
	HARNESS_T(net_rx_readable_after_writable_needs_reset)
	HARNESS_T(net_rx_avail_idx_jump_needs_reset)
	HARNESS_T(net_tx_buffer_past_ram_needs_reset)
	HARNESS_T(net_tx_buffer_wrapping_2_64_needs_reset)
	HARNESS_T(net_tx_descriptor_loop_needs_reset)
	HARNESS_T(net_tx_readable_after_writable_needs_reset)
	HARNESS_T(net_tx_avail_idx_jump_needs_reset)
	HARNESS_T(net_rx_returns_chain_with_readable_descriptor_unused)
	HARNESS_T(net_rx_header_split_across_descriptors)
	HARNESS_T(net_rx_frame_cut_to_a_small_chain)
	HARNESS_T(net_rx_mrg_unusable_chain_amid_frame_returned_once)
	HARNESS_T(net_rx_mrg_bad_chain_amid_frame_publishes_nothing)
	HARNESS_T(net_rx_mrg_frame_larger_than_ring_dropped)
	HARNESS_T(net_rx_mrg_short_of_buffers_asks_for_notification_past_them)
	HARNESS_T(net_rx_mrg_short_chain_only_continues_a_frame)
	HARNESS_T(net_tx_drops_chain_with_writable_descriptor)
	HARNESS_T(net_tx_drops_chain_shorter_than_header)
	HARNESS_T(net_tx_drops_oversized_chain)
	HARNESS_T(net_tx_header_split_across_descriptors)
	HARNESS_T(net_dp_takes_queues_at_driver_ok_and_gives_them_back_on_reset)
	HARNESS_T(net_dp_refused_falls_back_to_userspace)
	HARNESS_T(net_dp_save_reads_kernel_indexes_and_load_resumes_there)
)
// clang-format on
