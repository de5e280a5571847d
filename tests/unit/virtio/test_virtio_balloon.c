/* test_virtio_balloon.c — virtio-balloon (virtio 1.2 §5.5): inflated frames released in runs,
 * frames outside RAM ignored, the statistics buffer held and returned, free page reports,
 * configuration, queue numbering by features, state save/load. */
#include <errno.h>
#include <linux/virtio_balloon.h>
#include <stdlib.h>

#include "base/state.h"
#include "harness.h"
#include "virtio/virtio_balloon.h"
#include "vq_fake.h"

/* a third queue's rings (stats or reporting), clear of FAKE_* and FAKE_Q1_* */
#define Q2_DESC (FAKE_RAM_GPA + 0x9000)
#define Q2_AVAIL (FAKE_RAM_GPA + 0xa000)
#define Q2_USED (FAKE_RAM_GPA + 0xb000)
#define PFN(gpa) ((uint32_t)((gpa) >> VIRTIO_BALLOON_PFN_SHIFT))

struct released {
	unsigned n;
	uint8_t *hva[16];
	size_t len[16];
};

static int record(void *opaque, void *hva, size_t len)
{
	struct released *r = opaque;

	if (r->n < 16) {
		r->hva[r->n] = hva;
		r->len[r->n] = len;
	}
	r->n++;
	return 0;
}

struct timer {
	unsigned calls;
	unsigned q;
	uint64_t ns;
};

static bool fake_requeue(void *opaque, struct virtio_dev *vdev, unsigned q, uint64_t ns)
{
	struct timer *t = opaque;

	(void)vdev;
	t->calls++;
	t->q = q;
	t->ns = ns;
	return true;
}

/* one opaque for the transport: interrupts and the timer */
struct bench {
	struct fake_guest g;
	struct virtio_dev *vdev;
	struct released rel;
	struct fg_irqs irqs;
	struct timer timer;
	uint16_t q2_avail_idx;
};

static void irq(void *opaque, struct virtio_dev *vdev, int q)
{
	fg_count_irq(&((struct bench *)opaque)->irqs, vdev, q);
}

static bool requeue(void *opaque, struct virtio_dev *vdev, unsigned q, uint64_t ns)
{
	return fake_requeue(&((struct bench *)opaque)->timer, vdev, q, ns);
}

static void start(struct bench *b, const struct virtio_balloon_params *p)
{
	const struct virtio_balloon_host host = { .opaque = &b->rel, .discard = record };
	struct virtio_transport t = { .interrupt = irq, .requeue_after = requeue, .opaque = b };

	memset(b, 0, sizeof(*b));
	fg_init(&b->g, NULL, 16);
	REQUIRE(virtio_balloon_create(&b->vdev, &b->g.gm, p, &host) == 0);
	fg_start_dev(b->vdev, &t, b->vdev->host_features);
	if (b->vdev->nr_queues > 2) {
		struct virtq *vq = &b->vdev->vqs[2];

		vq->size = 16;
		vq->desc_gpa = Q2_DESC;
		vq->avail_gpa = Q2_AVAIL;
		vq->used_gpa = Q2_USED;
		vq->enabled = true;
	}
}

static void stop(struct bench *b)
{
	b->vdev->ops->destroy(b->vdev);
	fg_fini(&b->g);
}

static void q2_avail(struct bench *b, uint16_t head)
{
	uint16_t *ring = fg_ptr(&b->g, Q2_AVAIL);

	ring[2 + b->q2_avail_idx % 16] = head;
	ring[1] = ++b->q2_avail_idx;
}

static uint16_t q2_used_idx(struct bench *b)
{
	return ((uint16_t *)fg_ptr(&b->g, Q2_USED))[1];
}

/* Frame numbers at FAKE_BUF as one readable descriptor on queue @q (0 or 1), kicked. */
static void send_frames(struct bench *b, unsigned q, const uint32_t *pfn, unsigned n)
{
	memcpy(fg_ptr(&b->g, FAKE_BUF), pfn, n * 4);
	fg_desc(&b->g, q ? FAKE_Q1_DESC : FAKE_DESC, 0, FAKE_BUF, n * 4, 0, 0);
	if (q)
		fg_q1_avail(&b->g, 0);
	else
		fg_avail(&b->g, 0);
	virtio_dev_kick(b->vdev, q);
}

TEST(balloon_inflate_releases_contiguous_runs)
{
	const struct virtio_balloon_params p = { .target_pages = 16 };
	const uint32_t pfn[] = { PFN(0x120000), PFN(0x121000), PFN(0x122000), 0xfffff,
				 PFN(0x125000) };
	struct virtio_balloon_stats st;
	struct bench b;

	start(&b, &p);
	send_frames(&b, 0, pfn, ARRAY_SIZE(pfn));
	CHECK_EQ(fg_used_idx(&b.g), 1);
	CHECK_EQ(fg_used(&b.g, 0).len, 0);
	CHECK_EQ(b.irqs.queue[0], 1);
	/* three contiguous pages in one release, the frame outside RAM skipped, then one page */
	REQUIRE(b.rel.n == 2);
	CHECK(b.rel.hva[0] == fg_ptr(&b.g, 0x120000));
	CHECK_EQ(b.rel.len[0], 3 * 4096);
	CHECK(b.rel.hva[1] == fg_ptr(&b.g, 0x125000));
	CHECK_EQ(b.rel.len[1], 4096);
	virtio_balloon_get_stats(b.vdev, &st);
	CHECK_EQ(st.inflated_pages, 4);
	CHECK_EQ(st.bad_frames, 1);
	CHECK_EQ(st.discarded_bytes, 4 * 4096);
	stop(&b);
}

TEST(balloon_frames_split_across_descriptors_and_short_tails)
{
	const struct virtio_balloon_params p = { 0 };
	uint32_t pfn[3] = { PFN(0x130000), PFN(0x131000), PFN(0x132000) };
	struct virtio_balloon_stats st;
	struct bench b;

	start(&b, &p);
	memcpy(fg_ptr(&b.g, FAKE_BUF), pfn, sizeof(pfn));
	/* 6 bytes, then 6: the second frame straddles the two; the 2-byte tail is no frame */
	fg_desc(&b.g, FAKE_DESC, 0, FAKE_BUF, 6, VRING_DESC_F_NEXT, 1);
	fg_desc(&b.g, FAKE_DESC, 1, FAKE_BUF + 6, 4, VRING_DESC_F_NEXT, 2);
	fg_desc(&b.g, FAKE_DESC, 2, FAKE_BUF + 10, 2, 0, 0);
	fg_avail(&b.g, 0);
	virtio_dev_kick(b.vdev, 0);
	CHECK_EQ(fg_used_idx(&b.g), 1);
	virtio_balloon_get_stats(b.vdev, &st);
	CHECK_EQ(st.inflated_pages, 3);
	REQUIRE(b.rel.n == 1);
	CHECK_EQ(b.rel.len[0], 3 * 4096);
	/* a frame at the very end of RAM is released; one past it is not */
	pfn[0] = PFN(FAKE_RAM_GPA + FAKE_RAM_LEN - 4096);
	pfn[1] = PFN(FAKE_RAM_GPA + FAKE_RAM_LEN);
	send_frames(&b, 0, pfn, 2);
	virtio_balloon_get_stats(b.vdev, &st);
	CHECK_EQ(st.inflated_pages, 4);
	CHECK_EQ(st.bad_frames, 1);
	CHECK_EQ(b.rel.n, 2);
	stop(&b);
}

TEST(balloon_deflate_counts_and_releases_nothing)
{
	const struct virtio_balloon_params p = { .deflate_on_oom = true };
	const uint32_t pfn[] = { PFN(0x120000), PFN(0x121000), 0x7fffffff };
	struct virtio_balloon_stats st;
	struct bench b;

	start(&b, &p);
	CHECK(b.vdev->host_features & (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	CHECK(!(b.vdev->host_features & (1ull << VIRTIO_BALLOON_F_STATS_VQ)));
	CHECK_EQ(b.vdev->nr_queues, 2);
	send_frames(&b, 1, pfn, ARRAY_SIZE(pfn));
	CHECK_EQ(fg_q1_used_idx(&b.g), 1);
	CHECK_EQ(b.irqs.queue[1], 1);
	CHECK_EQ(b.rel.n, 0);
	virtio_balloon_get_stats(b.vdev, &st);
	CHECK_EQ(st.deflated_pages, 2);
	CHECK_EQ(st.bad_frames, 1);
	stop(&b);
}

static uint32_t cfg32(struct virtio_dev *vdev, uint32_t off)
{
	uint32_t v = 0;

	vdev->ops->config_read(vdev, off, &v, 4);
	return v;
}

TEST(balloon_config_target_from_host_actual_from_driver)
{
	const struct virtio_balloon_params p = { .target_pages = 256 };
	const uint32_t actual = 200, bogus = 9;
	const uint16_t hi = 1;
	struct virtio_balloon_stats st;
	struct bench b;
	uint8_t byte = 0;

	start(&b, &p);
	CHECK_EQ(cfg32(b.vdev, 0), 256);
	CHECK_EQ(cfg32(b.vdev, 4), 0);
	virtio_balloon_set_target(b.vdev, 1024);
	CHECK_EQ(cfg32(b.vdev, 0), 1024);
	CHECK_EQ(b.irqs.config, 1);
	/* the driver writes actual; num_pages is read-only to it */
	b.vdev->ops->config_write(b.vdev, 4, &actual, 4);
	b.vdev->ops->config_write(b.vdev, 0, &bogus, 4);
	CHECK_EQ(cfg32(b.vdev, 0), 1024);
	CHECK_EQ(cfg32(b.vdev, 4), 200);
	b.vdev->ops->config_write(b.vdev, 6, &hi, 2);
	CHECK_EQ(cfg32(b.vdev, 4), 200 | 1u << 16);
	b.vdev->ops->config_read(b.vdev, 1, &byte, 1);
	CHECK_EQ(byte, 4); /* 1024 = 0x400 */
	virtio_balloon_get_stats(b.vdev, &st);
	CHECK_EQ(st.target_pages, 1024);
	CHECK_EQ(st.actual_pages, 200 | 1u << 16);
	/* a reset forgets what the driver said */
	virtio_dev_set_status(b.vdev, 0);
	CHECK_EQ(cfg32(b.vdev, 4), 0);
	CHECK_EQ(cfg32(b.vdev, 0), 1024);
	stop(&b);
}

static void stat_rec(uint8_t *p, uint16_t tag, uint64_t v)
{
	p[0] = (uint8_t)tag;
	p[1] = (uint8_t)(tag >> 8);
	for (int i = 0; i < 8; i++)
		p[2 + i] = (uint8_t)(v >> (8 * i));
}

TEST(balloon_stats_buffer_read_held_then_returned)
{
	const struct virtio_balloon_params p = { .stats_interval_s = 1 };
	uint8_t *buf;
	struct virtio_balloon_stats st;
	struct bench b;

	start(&b, &p);
	CHECK(b.vdev->host_features & (1ull << VIRTIO_BALLOON_F_STATS_VQ));
	CHECK_EQ(b.vdev->nr_queues, 3);
	buf = fg_ptr(&b.g, FAKE_BUF + 0x1000);
	stat_rec(buf, VIRTIO_BALLOON_S_MEMFREE, 12345);
	stat_rec(buf + 10, VIRTIO_BALLOON_S_CACHES, 99);
	stat_rec(buf + 20, 200, 7); /* a tag vmon does not know: skipped */
	fg_desc(&b.g, Q2_DESC, 0, FAKE_BUF + 0x1000, 30 + 5, 0, 0); /* 5 bytes: no record */
	q2_avail(&b, 0);
	virtio_dev_kick(b.vdev, 2);
	/* read at once, held until the poll: the driver refills it only when it comes back */
	CHECK_EQ(q2_used_idx(&b), 0);
	CHECK_EQ(b.timer.calls, 1);
	CHECK_EQ(b.timer.q, 2);
	CHECK_EQ(b.timer.ns, 1000000000ull);
	virtio_balloon_get_stats(b.vdev, &st);
	CHECK_EQ(st.valid, (1u << VIRTIO_BALLOON_S_MEMFREE) | (1u << VIRTIO_BALLOON_S_CACHES));
	CHECK_EQ(st.value[VIRTIO_BALLOON_S_MEMFREE], 12345);
	CHECK_EQ(st.value[VIRTIO_BALLOON_S_CACHES], 99);
	/* a kick before the interval is over keeps it */
	virtio_dev_kick(b.vdev, 2);
	CHECK_EQ(q2_used_idx(&b), 0);
	/* before a snapshot it goes back, so no buffer is held outside the rings */
	b.vdev->ops->sync(b.vdev);
	CHECK_EQ(q2_used_idx(&b), 1);
	CHECK_EQ(b.irqs.config, 0);
	/* the driver refills it: read again, held again */
	stat_rec(buf, VIRTIO_BALLOON_S_MEMFREE, 777);
	q2_avail(&b, 0);
	virtio_dev_kick(b.vdev, 2);
	virtio_balloon_get_stats(b.vdev, &st);
	CHECK_EQ(st.value[VIRTIO_BALLOON_S_MEMFREE], 777);
	CHECK_EQ(q2_used_idx(&b), 1);
	CHECK_EQ(b.timer.calls, 2);
	/* a new interval re-arms the held buffer's timer */
	CHECK_EQ(virtio_balloon_set_interval(b.vdev, 5), 0);
	CHECK_EQ(b.timer.calls, 3);
	CHECK_EQ(b.timer.ns, 5000000000ull);
	CHECK_EQ(virtio_balloon_set_interval(b.vdev, 0), -EINVAL);
	stop(&b);
}

TEST(balloon_interval_cannot_turn_statistics_on)
{
	const struct virtio_balloon_params p = { 0 };
	struct bench b;

	start(&b, &p);
	CHECK_EQ(virtio_balloon_set_interval(b.vdev, 3), -EINVAL);
	stop(&b);
}

TEST(balloon_reporting_queue_numbered_by_features)
{
	const struct virtio_balloon_params p = { .reporting = true };
	struct virtio_balloon_stats st;
	struct bench b;

	start(&b, &p);
	CHECK(b.vdev->host_features & (1ull << VIRTIO_BALLOON_F_REPORTING));
	CHECK_EQ(b.vdev->nr_queues, 3);
	/* no statistics negotiated: queue 2 is the reporting queue. A free range of three whole
	 * pages, then one that starts and ends mid-page: only its whole page goes back */
	fg_desc(&b.g, Q2_DESC, 0, 0x130000, 0x3000, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fg_desc(&b.g, Q2_DESC, 1, 0x140800, 0x2000, VRING_DESC_F_WRITE, 0);
	q2_avail(&b, 0);
	virtio_dev_kick(b.vdev, 2);
	CHECK_EQ(q2_used_idx(&b), 1);
	REQUIRE(b.rel.n == 2);
	CHECK(b.rel.hva[0] == fg_ptr(&b.g, 0x130000));
	CHECK_EQ(b.rel.len[0], 0x3000);
	CHECK(b.rel.hva[1] == fg_ptr(&b.g, 0x141000));
	CHECK_EQ(b.rel.len[1], 0x1000);
	virtio_balloon_get_stats(b.vdev, &st);
	CHECK_EQ(st.reported_bytes, 0x5000);
	/* a range outside RAM is refused by the queue walk: nothing released */
	fg_desc(&b.g, Q2_DESC, 0, FAKE_RAM_GPA + FAKE_RAM_LEN - 0x1000, 0x2000, VRING_DESC_F_WRITE,
		0);
	q2_avail(&b, 0);
	virtio_dev_kick(b.vdev, 2);
	CHECK_EQ(b.rel.n, 2);
	stop(&b);
}

TEST(balloon_reporting_after_stats_is_queue_three)
{
	const struct virtio_balloon_params p = { .stats_interval_s = 2, .reporting = true };
	struct bench b;

	start(&b, &p);
	CHECK_EQ(b.vdev->nr_queues, 4);
	/* queue 2 is the statistics queue: a buffer there is read and held, never released */
	fg_desc(&b.g, Q2_DESC, 0, 0x130000, 0x3000, 0, 0);
	q2_avail(&b, 0);
	virtio_dev_kick(b.vdev, 2);
	CHECK_EQ(q2_used_idx(&b), 0);
	CHECK_EQ(b.rel.n, 0);
	CHECK_EQ(b.timer.ns, 2000000000ull);
	stop(&b);
}

TEST(balloon_state_round_trip_and_mismatch_refused)
{
	const struct virtio_balloon_params p = { .target_pages = 64, .stats_interval_s = 1 };
	const struct virtio_balloon_params other = { .target_pages = 64 };
	const uint32_t actual = 48;
	struct virtio_balloon_stats st;
	struct state_writer w;
	struct state_reader r;
	struct bench a, c;
	uint8_t *buf;

	start(&a, &p);
	virtio_balloon_set_target(a.vdev, 80);
	a.vdev->ops->config_write(a.vdev, 4, &actual, 4);
	buf = fg_ptr(&a.g, FAKE_BUF);
	stat_rec(buf, VIRTIO_BALLOON_S_MEMTOT, 1 << 20);
	fg_desc(&a.g, Q2_DESC, 0, FAKE_BUF, 10, 0, 0);
	q2_avail(&a, 0);
	virtio_dev_kick(a.vdev, 2);
	CHECK_EQ(virtio_balloon_set_interval(a.vdev, 4), 0);
	state_writer_init(&w);
	virtio_dev_save(a.vdev, &w);
	REQUIRE(state_writer_error(&w) == 0);
	/* saving gave the held buffer back */
	CHECK_EQ(q2_used_idx(&a), 1);

	start(&c, &p);
	memcpy(c.g.ram, a.g.ram, FAKE_RAM_LEN); /* the memory file's part */
	c.q2_avail_idx = a.q2_avail_idx;
	state_reader_init(&r, w.buf, w.len);
	CHECK_EQ(virtio_dev_load(c.vdev, &r), 0);
	virtio_balloon_get_stats(c.vdev, &st);
	CHECK_EQ(st.target_pages, 80);
	CHECK_EQ(st.actual_pages, 48);
	CHECK_EQ(st.value[VIRTIO_BALLOON_S_MEMTOT], 1 << 20);
	CHECK_EQ(cfg32(c.vdev, 0), 80);
	/* the interval set at run time came along: a new buffer is held for 4 s */
	q2_avail(&c, 0);
	virtio_dev_kick(c.vdev, 2);
	CHECK_EQ(c.timer.ns, 4000000000ull);
	stop(&c);

	/* a balloon without statistics cannot take this state, nor can a cut one be loaded */
	start(&c, &other);
	state_reader_init(&r, w.buf, w.len);
	CHECK_EQ(virtio_dev_load(c.vdev, &r), -EINVAL);
	stop(&c);
	start(&c, &p);
	state_reader_init(&r, w.buf, w.len - 3);
	CHECK_EQ(virtio_dev_load(c.vdev, &r), -EINVAL);
	stop(&c);
	state_writer_free(&w);
	stop(&a);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(balloon_inflate_releases_contiguous_runs)
	HARNESS_T(balloon_frames_split_across_descriptors_and_short_tails)
	HARNESS_T(balloon_deflate_counts_and_releases_nothing)
	HARNESS_T(balloon_config_target_from_host_actual_from_driver)
	HARNESS_T(balloon_stats_buffer_read_held_then_returned)
	HARNESS_T(balloon_interval_cannot_turn_statistics_on)
	HARNESS_T(balloon_reporting_queue_numbered_by_features)
	HARNESS_T(balloon_reporting_after_stats_is_queue_three)
	HARNESS_T(balloon_state_round_trip_and_mismatch_refused)
)
// clang-format on
